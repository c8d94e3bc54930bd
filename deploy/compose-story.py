#!/usr/bin/env python3
"""The whole FeedbackHub story over HTTP against a running stack (deploy/compose-check.sh runs it).

Usage: compose-story.py API_BASE_URL MAIL_API_BASE_URL KEYS_FILE
KEYS_FILE is the output of the api image's `seed-demo` (one line per role: role, key name, key).
Steps: settings (cooling-off 0) -> application (ATS upsert) -> feedback (start, answers, submit) -> approval ->
rejection (the candidate's link) -> candidate request (public endpoint) -> email captured (Mailpit API subset) ->
delivery Sent -> audit chain verifies. Exits 1 at the first step that does not hold, saying which.
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

API, MAIL, KEYS_FILE = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), sys.argv[3]
ROLES = ("admin", "recruiter", "interviewer", "legal", "integration")


def step(name):
    print(f"[story] {name}", flush=True)


def fail(message):
    print(f"[story] FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def call(method, path, key=None, body=None, expect=(200,), base=API, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as e:
        status, raw, answer_headers = e.code, e.read(), e.headers
    if status not in expect:
        fail(f"{method} {path} answered {status}, expected {expect}: {raw[:500].decode(errors='replace')}")
    content_type = answer_headers.get("Content-Type", "")
    return (json.loads(raw) if raw and "json" in content_type else raw.decode(errors="replace")), answer_headers


keys = {}
with open(KEYS_FILE, encoding="utf-8") as f:
    for line in f:
        parts = line.split()
        # Key lines end with the key (fh_...); the demo people's lines (role, email, password) are not keys.
        if len(parts) >= 3 and parts[0] in ROLES and parts[-1].startswith("fh_"):
            keys[parts[0]] = parts[-1]
missing = [r for r in ROLES if r not in keys]
if missing:
    fail(f"seed-demo printed no key for {missing}")

step("seed: demo tenant and keys read; cooling-off set to 0 so the email goes at once")
call("PATCH", "/v1/settings", keys["admin"], {"coolingOffMinutes": 0})

step("application: the ATS upserts a candidate's application")
run = uuid.uuid4().hex[:8]
candidate_email = f"candidate-{run}@example.com"
application, _ = call("PUT", f"/v1/applications/by-external-id/check-{run}", keys["integration"], {
    "candidate": {"externalId": f"cand-{run}", "firstName": "Ada", "lastName": "Lovelace", "email": candidate_email},
    "positionTitle": "Backend Engineer",
}, expect=(200, 201))
application_id = application["id"]

step("feedback: the interviewer starts it from the published engineering template, answers, submits")
templates, _ = call("GET", "/v1/templates?published=true", keys["recruiter"])
engineering = next((t for t in templates["items"] if "engineering" in t["name"].lower()), None)
if engineering is None:
    fail("no published engineering template (seed-demo publishes three)")
feedback, _ = call("POST", "/v1/feedback", keys["interviewer"], {"applicationId": application_id, "templateId": engineering["id"]}, expect=(201,))
_, headers = call("GET", f"/v1/feedback/{feedback['id']}", keys["interviewer"])
answers = [
    {"criterion": "problem-solving", "band": "strong", "phrases": ["You asked clarifying questions before starting to code."],
     "comment": "Your tests of the parser were thorough and clear."},
    {"criterion": "code-quality", "band": "meets"},
    {"criterion": "system-design", "band": "developing"},
    {"criterion": "communication", "band": "strong"},
]
call("PUT", f"/v1/feedback/{feedback['id']}/answers", keys["interviewer"], {"answers": answers}, headers={"If-Match": headers["ETag"]})
call("POST", f"/v1/feedback/{feedback['id']}/submit", keys["interviewer"], {})

step("approval: the recruiter approves (four eyes)")
call("POST", f"/v1/feedback/{feedback['id']}/approve", keys["recruiter"])

step("rejection link: the ATS records the rejection and gets the candidate's personal link")
rejection, _ = call("POST", f"/v1/applications/{application_id}/rejection", keys["integration"], {})
token = rejection["requestUrl"].rstrip("/").rsplit("/", 1)[-1]

step("candidate request: the candidate asks for feedback through the public endpoint (no key)")
call("POST", f"/v1/public/feedback-requests/{token}", body={"note": "Thank you!"}, expect=(200, 202))
page, _ = call("GET", f"/r/{token}")
if "Acme Robotics" not in page:
    fail("the candidate's page does not name the company")

step("email captured: the SMTP catcher has the feedback email for the candidate")
deadline = time.monotonic() + 60
message = None
while message is None and time.monotonic() < deadline:
    listed, _ = call("GET", "/api/v1/messages", base=MAIL)
    message = next((m for m in listed.get("messages", [])
                    if any(t.get("Address", "").lower() == candidate_email for t in m.get("To", []))), None)
    if message is None:
        time.sleep(0.5)
if message is None:
    fail(f"no email to {candidate_email} within 60 s")
raw, _ = call("GET", f"/api/v1/message/{message['ID']}/raw", base=MAIL)
preview, _ = call("GET", f"/v1/feedback/{feedback['id']}/preview", keys["recruiter"])
if preview["subject"] not in raw and message.get("Subject") != preview["subject"]:
    fail(f"captured subject {message.get('Subject')!r} is not the preview's {preview['subject']!r}")
if "What weighed most" not in raw and "V2hhdCB3ZWlnaGVkIG1vc3" not in raw:
    fail("the captured email lacks the decision section")

step("delivery: recorded as sent, with the email's Message-ID")
deliveries, _ = call("GET", "/v1/deliveries?limit=100", keys["recruiter"])
items = [d for d in deliveries["items"] if d["applicationId"] == application_id]
if not items:
    fail("no delivery listed for the application")
deadline = time.monotonic() + 30
while True:
    delivery, _ = call("GET", f"/v1/deliveries/{items[0]['id']}", keys["recruiter"])
    if delivery["status"] == "sent" or time.monotonic() > deadline:
        break
    time.sleep(0.5)
if delivery["status"] != "sent":
    fail(f"delivery is {delivery['status']}, not sent")
if delivery.get("messageId") and delivery["messageId"] not in raw:
    fail("the captured email's Message-ID is not the delivery's")

step("audit verify: the tenant's audit log verifies")
verification, _ = call("GET", "/v1/audit/verify", keys["legal"])
if not verification.get("valid") or verification.get("checkedEvents", 0) < 5:
    fail(f"audit chain does not verify: {verification}")
print(f"[story] passed: email to {candidate_email}, delivery {delivery['id']} sent, {verification['checkedEvents']} audit events verified", flush=True)
