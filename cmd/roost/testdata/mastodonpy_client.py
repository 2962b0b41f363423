"""Roost's client API driven by Mastodon.py (Debian's python3-mastodon),
the library Python scripts and bots use, over HTTPS on a tenant domain.

Run by TestMastodonPyClient (mastodonpy_client_test.go) with:
  ROOST_BASE      https://a.test:PORT
  ROOST_PASSWORD  the accounts' password
  REQUESTS_CA_BUNDLE, SSL_CERT_FILE  the instance's local CA
Every *.test name resolves to 127.0.0.1 (no DNS in the test machine).
Prints one JSON object of what it saw; exits non-zero on any failure.
"""
import base64
import http.cookiejar
import json
import os
import re
import socket
import sys
import time
import urllib.parse
import urllib.request

_getaddrinfo = socket.getaddrinfo


def _resolve(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".test"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve

from mastodon import Mastodon, StreamListener  # noqa: E402

BASE = os.environ["ROOST_BASE"]
PASSWORD = os.environ["ROOST_PASSWORD"]
SCOPES = ["read", "write", "follow"]
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def fail(msg):
    print(json.dumps({"error": msg}))
    sys.exit(1)


def sign_in(cid, csec, email):
    """Signs in through Roost's sign-in page as a browser would."""
    m = Mastodon(client_id=cid, client_secret=csec, api_base_url=BASE)
    url = m.auth_request_url(scopes=SCOPES)
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = op.open(url, timeout=30).read().decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    if "csrf" not in fields:
        fail("no CSRF field on the sign-in page")
    fields.update(email=email, password=PASSWORD, decision="approve")
    out = op.open(BASE + "/oauth/authorize", urllib.parse.urlencode(fields).encode(), timeout=30).read().decode()
    found = re.search(r'class="code" type="text" value="([^"]+)"', out)
    if not found:
        fail("no code after signing in as " + email)
    m.log_in(code=found.group(1), scopes=SCOPES)
    return m


class Listener(StreamListener):
    def __init__(self):
        super().__init__()
        self.updates, self.notifications = [], []
        self.opened = False

    def handle_heartbeat(self):
        # Roost's stream opens with a ":)" comment once it is subscribed.
        self.opened = True

    def on_update(self, status):
        self.updates.append(status["content"])

    def on_notification(self, notification):
        self.notifications.append(notification["type"])


def until(what, check):
    """Waits for check() to hold: a liveness bound for background work
    (delivery, streaming), not a timing assertion."""
    for _ in range(300):
        if check():
            return
        time.sleep(0.1)
    fail("never happened: " + what)


def main():
    cid, csec = Mastodon.create_app("Mastodon.py test", api_base_url=BASE, scopes=SCOPES)
    alice = sign_in(cid, csec, "alice@a.test")
    bob = sign_in(cid, csec, "bob@a.test")
    me = alice.me()
    if me["username"] != "alice":
        fail("me is " + me["username"])
    bob_acct = alice.account_lookup("bob")
    alice.account_follow(bob_acct["id"])

    user, public = Listener(), Listener()
    user_stream = alice.stream_user(user, run_async=True)
    public_stream = alice.stream_public(public, run_async=True)
    # Both streams subscribed before the posts they should hear.
    until("both streams open", lambda: user.opened and public.opened)

    mention = bob.status_post("hello @alice, this is from Mastodon.py")
    until("alice's user stream hears bob's post", lambda: any("Mastodon.py" in u for u in user.updates))
    until("alice's user stream hears the mention", lambda: "mention" in user.notifications)
    until("the public stream hears bob's post", lambda: any("Mastodon.py" in u for u in public.updates))

    media = alice.media_post(PNG, mime_type="image/png", description="one white pixel")
    reply = alice.status_post("@bob a reply with a picture", in_reply_to_id=mention["id"], media_ids=[media["id"]])
    if str(reply["in_reply_to_id"]) != str(mention["id"]):
        fail("reply is not in reply to the mention")
    if not reply["media_attachments"] or reply["media_attachments"][0]["description"] != "one white pixel":
        fail("reply lost its media or alt text: %r" % reply["media_attachments"])
    context = bob.status_context(mention["id"])
    if str(reply["id"]) not in [str(s["id"]) for s in context["descendants"]]:
        fail("the reply is not in the thread")

    notes = alice.notifications()
    if not any(n["type"] == "mention" and str(n["status"]["id"]) == str(mention["id"]) for n in notes):
        fail("alice's notifications lack the mention: %r" % [n["type"] for n in notes])
    bob.status_favourite(reply["id"])
    until("alice is told of the favourite",
          lambda: any(n["type"] == "favourite" for n in alice.notifications(types=["favourite"])))

    found = alice.search_v2("Mastodon.py", result_type="statuses")
    if not any(str(s["id"]) == str(mention["id"]) for s in found["statuses"]):
        fail("search did not find bob's post")
    accounts = alice.search_v2("bob", result_type="accounts")["accounts"]
    if not any(a["acct"] == "bob" for a in accounts):
        fail("search did not find bob")
    # dave is read by his followers (issue 21: marked by the test, as past
    # ROOST_HOME_PULL_FOLLOWERS): his posts get no row in alice's feed.
    # alice follows him while her stream is open; his next post is on her
    # home timeline and heard on her stream all the same.
    dave = sign_in(cid, csec, "dave@a.test")
    alice.account_follow(alice.account_lookup("dave")["id"])
    read_post = None
    for i in range(100):
        # The follow reaches the stream after its commit: post until heard.
        read_post = dave.status_post("a read author's post from Mastodon.py %d" % i)
        time.sleep(0.3)
        if any("read author" in u for u in user.updates):
            break
    until("alice's user stream hears the read author", lambda: any("read author" in u for u in user.updates))
    if not any(str(s["id"]) == str(read_post["id"]) for s in alice.timeline_home(limit=5)):
        fail("alice's home timeline lacks the read author's post")

    home = alice.timeline_home()
    user_stream.close()
    public_stream.close()
    print(json.dumps({
        "me": me["acct"],
        "home": len(home),
        "notification_types": sorted({n["type"] for n in alice.notifications()}),
        "streamed_updates": len(user.updates),
        "streamed_public": len(public.updates),
        "streamed_notifications": user.notifications,
        "media_url": reply["media_attachments"][0]["url"],
        "read_post": str(read_post["id"]),
    }))


if __name__ == "__main__":
    main()
