// A Mastodon app written with megalodon (a JavaScript client from npm),
// driven by TestJSClientMegalodon against a real Roost node.
//
//   node megalodon_client.mjs register   registers an app, prints {client_id, client_secret, url}
//   node megalodon_client.mjs run        signs in with CODE and uses the API
//
// Environment: MEGALODON_DIR (where megalodon is installed), ROOST_BASE
// (http://a.test:PORT), and for run CLIENT_ID, CLIENT_SECRET, CODE,
// FOLLOWER (the username expected to follow the signed-in account) and
// STREAMING (1 when /api/v1/streaming/health answers).
// It exits non-zero on the first failed check.

import dns from 'node:dns';
import { createRequire } from 'node:module';
import path from 'node:path';

// Tenant domains (*.test) have no DNS: they resolve to the node here.
const lookup = dns.lookup;
dns.lookup = function (host, opts, cb) {
  if (typeof opts === 'function') {
    cb = opts;
    opts = {};
  }
  if (typeof host === 'string' && host.endsWith('.test')) {
    if (opts && opts.all) return process.nextTick(cb, null, [{ address: '127.0.0.1', family: 4 }]);
    return process.nextTick(cb, null, '127.0.0.1', 4);
  }
  return lookup.call(dns, host, opts, cb);
};

const require = createRequire(path.join(process.env.MEGALODON_DIR, 'package.json'));
const generator = require('megalodon').default;
const base = process.env.ROOST_BASE;
const scopes = ['read', 'write', 'follow'];

function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAIL: ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

async function register() {
  const client = generator('mastodon', base);
  const app = await client.registerApp('megalodon test', { scopes, website: 'https://example.org/megalodon' });
  check(app.client_id && app.client_secret && app.url, 'registerApp', app);
  console.log(JSON.stringify({ client_id: app.client_id, client_secret: app.client_secret, url: app.url }));
}

async function run() {
  const anon = generator('mastodon', base);
  const token = await anon.fetchAccessToken(process.env.CLIENT_ID, process.env.CLIENT_SECRET, process.env.CODE);
  check(token.access_token, 'fetchAccessToken');
  const client = generator('mastodon', base, token.access_token);

  const me = (await client.verifyAccountCredentials()).data;
  check(me.username === 'alice' && me.acct === 'alice', 'verifyAccountCredentials', me);

  const follower = process.env.FOLLOWER;
  const post = (await client.postStatus(`Hello @${follower} from megalodon #jsclient`, { visibility: 'public' })).data;
  check(post.id && post.content.includes('megalodon'), 'postStatus', post);
  check(post.mentions.length === 1 && post.mentions[0].acct === follower, 'postStatus mentions', post.mentions);
  check(post.tags.length === 1 && post.tags[0].name === 'jsclient', 'postStatus tags', post.tags);

  const reply = (await client.postStatus('A reply from megalodon', { in_reply_to_id: post.id })).data;
  check(reply.in_reply_to_id === post.id, 'postStatus in reply', reply);
  const thread = (await client.getStatusContext(post.id)).data;
  check(thread.descendants.some((s) => s.id === reply.id), 'getStatusContext', thread);

  const got = (await client.getStatus(post.id)).data;
  check(got.id === post.id && got.replies_count === 1, 'getStatus', got);

  // Home timeline, paged with max_id: every post once, newest first.
  const posted = [post.id, reply.id];
  for (let i = 0; i < 23; i++) {
    posted.push((await client.postStatus(`megalodon post ${i}`)).data.id);
  }
  posted.reverse();
  const seen = [];
  let maxID;
  for (let pages = 0; pages < 10; pages++) {
    const opts = { limit: 10 };
    if (maxID) opts.max_id = maxID;
    const res = await client.getHomeTimeline(opts);
    if (pages === 0) check(/rel="next"/.test(res.headers.link || ''), 'getHomeTimeline Link header', res.headers.link);
    if (res.data.length === 0) break;
    seen.push(...res.data.map((s) => s.id));
    maxID = res.data[res.data.length - 1].id;
  }
  check(JSON.stringify(seen.slice(0, posted.length)) === JSON.stringify(posted), 'getHomeTimeline paging', { seen, posted });
  check(new Set(seen).size === seen.length, 'getHomeTimeline pages do not overlap', seen);

  const notes = (await client.getNotifications()).data;
  check(notes.some((n) => n.type === 'follow' && n.account.acct === follower), 'getNotifications', notes.map((n) => n.type));

  await client.favouriteStatus(post.id);
  const faved = (await client.getFavourites()).data;
  check(faved.some((s) => s.id === post.id), 'favouriteStatus and getFavourites', faved.map((s) => s.id));

  try {
    const found = (await client.search(follower, { type: 'accounts' })).data;
    check(found.accounts.some((a) => a.acct === follower), 'search', found);
  } catch (e) {
    if (e.response && e.response.status === 404) {
      console.log('skip: search (/api/v2/search answers 404 on this server)');
    } else {
      throw e;
    }
  }

  if (process.env.STREAMING === '1') {
    await streaming(client);
  } else {
    console.log('skip: streaming (/api/v1/streaming/health answers 404 on this server)');
  }
  console.log(JSON.stringify({ done: true, posted: posted.length, pages_seen: seen.length }));
}

// streaming reads the user stream and waits for a post of our own.
async function streaming(client) {
  const stream = await client.userStreaming();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no update on the user stream within 20 s')), 20000);
    stream.on('error', (err) => console.log('stream error (retried by megalodon):', err.message));
    stream.on('update', (status) => {
      if (status.content.includes('streamed from megalodon')) {
        clearTimeout(timer);
        resolve();
      }
    });
    stream.on('connect', async () => {
      try {
        await client.postStatus('streamed from megalodon');
      } catch (e) {
        reject(e);
      }
    });
  });
  stream.stop();
  check(true, 'userStreaming update');
}

const phase = process.argv[2];
try {
  if (phase === 'register') await register();
  else if (phase === 'run') await run();
  else throw new Error(`unknown phase ${phase}`);
  process.exit(0);
} catch (e) {
  const res = e.response ? ` (HTTP ${e.response.status} ${JSON.stringify(e.response.data)})` : '';
  console.error(`FAIL: ${e.stack || e}${res}`);
  process.exit(1);
}
