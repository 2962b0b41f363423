// A Mastodon app written with megalodon (a JavaScript client from npm),
// driven by TestJSClientMegalodon against a real Roost node.
//
//   node megalodon_client.mjs register   registers an app, prints {client_id, client_secret, url}
//   node megalodon_client.mjs run        signs in with CODE and uses the API
//
// Environment: MEGALODON_DIR (where megalodon is installed), ROOST_BASE
// (https://a.test:PORT; NODE_EXTRA_CA_CERTS names the CA to trust), and
// for run CLIENT_ID, CLIENT_SECRET, CODE, FOLLOWER (the username expected
// to follow the signed-in account) and FOLLOWER_TOKEN (that account's
// access token, to favourite a post while the stream is open).
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

  const followerClient = generator('mastodon', base, process.env.FOLLOWER_TOKEN);
  await streaming(client, followerClient);
  await listStreaming(client, followerClient);
  console.log(JSON.stringify({ done: true, posted: posted.length, pages_seen: seen.length }));
}

// streaming reads the user stream over WebSocket (megalodon dials
// urls.streaming_api + /api/v1/streaming?stream=user, so this also checks
// the instance advertises wss:// on the tenant's origin) and walks
// Mastodon's event kinds: an update of our own post, a notification (the
// follower favourites it), a status.update (we edit it) and a delete (a
// bare id as payload). Any frame megalodon's parser rejects fails the run.
async function streaming(client, follower) {
  const wsURL = await client.streamingURL();
  check(wsURL === base.replace(/^https:/, 'wss:'), 'instance urls.streaming_api', wsURL);
  const stream = await client.userStreaming();
  const rejected = [];
  stream.on('parser-error', (err) => rejected.push(err.message));
  stream.on('error', (err) => console.log('stream error (retried by megalodon):', err && err.message));
  let post; // the streamed post (the update may arrive before postStatus answers)
  let posted = false;
  const seen = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the user stream stalled; parser errors: ${JSON.stringify(rejected)}`)), 30000);
    const got = {};
    const step = (fn) => fn().catch((e) => {
      clearTimeout(timer);
      reject(e);
    });
    stream.on('update', (status) => {
      if (post || !status.content.includes('streamed from megalodon')) return;
      post = status;
      got.update = true;
      step(() => follower.favouriteStatus(post.id));
    });
    stream.on('notification', (n) => {
      if (!post || n.type !== 'favourite' || !n.status || n.status.id !== post.id) return;
      got.notification = n.account.acct;
      step(() => client.editStatus(post.id, { status: 'streamed from megalodon (edited)' }));
    });
    stream.on('status_update', (status) => {
      if (!post || status.id !== post.id) return;
      got.status_update = status.content;
      step(() => client.deleteStatus(post.id));
    });
    stream.on('delete', (id) => {
      if (!post || String(id) !== post.id) return;
      got.delete = true;
      clearTimeout(timer);
      resolve(got);
    });
    stream.on('connect', () => step(async () => {
      if (posted) return; // a reconnect
      posted = true;
      await client.postStatus('streamed from megalodon');
    }));
  });
  stream.stop();
  check(seen.update, 'userStreaming update');
  check(seen.notification === process.env.FOLLOWER, 'userStreaming notification (favourite)', seen);
  check(/edited/.test(seen.status_update), 'userStreaming status.update', seen);
  check(seen.delete, 'userStreaming delete');
  check(rejected.length === 0, 'every streamed frame parsed', rejected);
}

// listStreaming follows the follower, puts them on a list and reads the
// list's stream: their new post arrives there as it reaches home.
async function listStreaming(client, follower) {
  const them = (await follower.verifyAccountCredentials()).data;
  await client.followAccount(them.id);
  const list = (await client.createList('megalodon list')).data;
  await client.addAccountsToList(list.id, [them.id]);
  const stream = await client.listStreaming(list.id);
  const rejected = [];
  stream.on('parser-error', (err) => rejected.push(err.message));
  let posted = false;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the list stream stalled; parser errors: ${JSON.stringify(rejected)}`)), 30000);
    stream.on('update', (status) => {
      if (status.content.includes('listed from megalodon') && status.account.id === them.id) {
        clearTimeout(timer);
        resolve();
      }
    });
    stream.on('connect', () => {
      if (posted) return;
      posted = true;
      follower.postStatus('listed from megalodon').catch(reject);
    });
  });
  stream.stop();
  check(rejected.length === 0, 'listStreaming update', rejected);
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
