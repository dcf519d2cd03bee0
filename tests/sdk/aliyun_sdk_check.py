"""Drive the official Alibaba Cloud CAPTCHA 2.0 Python SDK against a running Stile server.

Run by tests/sdk.rs as: python3 aliyun_sdk_check.py BASE_URL ACCESS_KEY_ID SECRET SCENE_ID
OTHER_SCENE_ID ADMIN_TOKEN TENANT_ID. It obtains real pass tokens through the widget API
(init + a drag answer), verifies them with the unmodified SDK over plain HTTP, and checks
the SDK sees Stile's verdicts and authentication errors as it would Alibaba Cloud's.
Prints one line per check and a final "N passed, M failed"; exits 1 on any failure.
"""

import hashlib
import json
import re
import math
import random
import sys
import time
import urllib.request

from alibabacloud_captcha20230305 import models as captcha_models
from alibabacloud_captcha20230305.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.utils import Utils

BASE, AK, SECRET, SCENE, OTHER_SCENE, ADMIN, TENANT = sys.argv[1:8]
HOST = BASE.split("://", 1)[1].rstrip("/")
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f"  -- {detail}"), flush=True)


def post(path, body, headers=None):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


def admin(method, path, body=None):
    req = urllib.request.Request(BASE + path, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("authorization", "Bearer " + ADMIN)
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


def solve_pow(certify_id, nonce, bits):
    """The widget's proof-of-work: the first counter whose SHA-256 over
    "certifyId.nonce.counter" starts with `bits` zero bits."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{certify_id}.{nonce}.{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return counter
        counter += 1


def _tenths(v):
    q = math.floor(float(v) * 10 + 0.5)
    return max(-(2**31), min(2**31 - 1, q)) & 0xFFFFFFFF


def codebook():
    """The codebook the served widget carries (Stile's risk::dynamic::Codebook). Pages get
    it inside the obfuscated script; a client of the operator's own reads it from the
    readable script the admin API serves."""
    req = urllib.request.Request(BASE + "/admin/v1/widget/source.js")
    req.add_header("authorization", "Bearer " + ADMIN)
    with urllib.request.urlopen(req) as resp:
        script = resp.read().decode()
    m = re.search(r"dvEpoch:(-?\d+),dvCodes:\[([\d,]+)\],dvMask:(\d+)", script)
    return {"epoch": int(m.group(1)), "codes": [int(c) for c in m.group(2).split(",")], "mask": int(m.group(3))}


def decode_program(wire, book):
    """A program off the wire: seeds and constants unmasked, operation codes looked up."""
    out = []
    for i, v in enumerate(wire):
        out.append(v ^ book["mask"] if i < 2 or i % 2 == 1 else book["codes"].index(v))
    return out


def sign_answer(program, certify_id, nonce, attempt, answer):
    """The widget's signature (Stile's risk::dynamic) of a slider answer: the cycle's
    program run over the canonical numbers of the answer."""
    words = [b for b in f"{certify_id}.{nonce}".encode()] + [attempt]
    words += [1, {"mouse": 1, "touch": 2, "pen": 3, "keyboard": 4}[answer["pointer"]], _tenths(answer["trackWidth"])]
    words.append(len(answer["points"]))
    for p in answer["points"]:
        words += [_tenths(v) for v in p]
    ops = program[2:]
    out = ""
    for lane, tweak in enumerate([0, 0x9E3779B9]):
        s = program[lane]
        for w in words + [None] * 4:
            s ^= tweak if w is None else (w ^ tweak)
            for op, k in zip(ops[0::2], ops[1::2]):
                if op == 0:
                    s = (s + k) & 0xFFFFFFFF
                elif op == 1:
                    s ^= k
                elif op == 2:
                    r = 1 + k % 31
                    s = ((s << r) | (s >> (32 - r))) & 0xFFFFFFFF
                elif op == 3:
                    s = (s * (k | 1)) & 0xFFFFFFFF
                else:
                    s ^= s >> (1 + k % 16)
        out += f"{s:08x}"
    return out


def pass_token(scene):
    """A real pass token: init, then a smooth drag to the end of a 300 px track (a new one
    each time: Stile refuses a drag it has seen before as a replay)."""
    init = post("/api/v1/init", {"sceneId": scene, "pageUrl": "http://shop.test/signup"})
    rng = random.Random()
    n, t, pts = 45, 400.0, []
    for i in range(n + 1):
        s = i / n
        p = 10 * s**3 - 15 * s**4 + 6 * s**5
        pts.append([round(300 * p, 1), round(18 + 2 * math.sin(5 * s) + rng.uniform(-0.7, 0.7), 1), round(t)])
        t += 20 * rng.uniform(0.6, 1.4)
    answer = {"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": pts, "env": {"webdriver": False}}
    body = {"certifyId": init["certifyId"], "nonce": init["nonce"], "attempt": 1, "answer": answer}
    if init.get("dv"):
        book = codebook()
        assert book["epoch"] == init["dvEpoch"], (book, init["dvEpoch"])
        program = decode_program(init["dv"], book)
        body["sig"] = sign_answer(program, init["certifyId"], init["nonce"], 1, answer)
    if init.get("pow"):
        body["pow"] = str(solve_pow(init["certifyId"], init["nonce"], init["pow"]))
    # A person's answer comes after the drag it reports: Stile refuses one sent sooner.
    time.sleep(pts[-1][2] / 1000 + 0.05)
    out = post("/api/v1/answer", body)
    assert out["passed"], out
    return out["captchaVerifyParam"]


def client(ak=AK, secret=SECRET):
    cfg = open_api_models.Config(access_key_id=ak, access_key_secret=secret, endpoint=HOST, protocol="http")
    return Client(cfg)


def verify(c, param, scene=None):
    return c.verify_intelligent_captcha(captcha_models.VerifyIntelligentCaptchaRequest(captcha_verify_param=param, scene_id=scene))


def error_code(fn):
    try:
        fn()
    except Exception as e:  # the SDK raises ClientException with .code
        return getattr(e, "code", repr(e))
    return None


sdk = client()
token = pass_token(SCENE)
r = verify(sdk, token, SCENE).body
check("VerifyIntelligentCaptcha passes a fresh token", r.result.verify_result is True and r.result.verify_code == "T001", r)
check("response carries RequestId and Success", bool(r.request_id) and r.success is True, r)
r = verify(sdk, token, SCENE).body
check("the same token again is a replay (F008)", r.result.verify_result is False and r.result.verify_code == "F008", r)

token = pass_token(SCENE)
r = verify(sdk, token, OTHER_SCENE).body
check("verifying under another scene fails (F012)", r.result.verify_code == "F012", r)
r = verify(sdk, token).body
check("without SceneId the token still verifies once (T001)", r.result.verify_code == "T001", r)

r = sdk.verify_captcha(captcha_models.VerifyCaptchaRequest(captcha_verify_param=pass_token(SCENE))).body
check("legacy VerifyCaptcha passes", r.result.verify_result is True, r)
r = verify(sdk, "").body
check("empty token (F002)", r.result.verify_code == "F002", r)
r = verify(sdk, token[:-12] + "AAAAAAAAAAA\"}").body
check("tampered token (F003)", r.result.verify_code == "F003", r)

code = error_code(lambda: verify(client(secret="wrong-secret-000000000000"), pass_token(SCENE), SCENE))
check("wrong secret is refused with SignatureDoesNotMatch", code == "SignatureDoesNotMatch", code)
code = error_code(lambda: verify(client(ak="STKNOSUCHKEY000000000000"), "x", SCENE))
check("unknown key is refused with InvalidAccessKeyId.NotFound", code == "InvalidAccessKeyId.NotFound", code)

created = admin("POST", f"/admin/v1/tenants/{TENANT}/access-keys", {"description": "sdk test"})
admin("PATCH", f"/admin/v1/access-keys/{created['id']}", {"enabled": False})
code = error_code(lambda: verify(client(created["id"], created["secret"]), "x", SCENE))
check("disabled key is refused with InvalidAccessKeyId.Inactive", code == "InvalidAccessKeyId.Inactive", code)
admin("PATCH", f"/admin/v1/access-keys/{created['id']}", {"enabled": True})
r = verify(client(created["id"], created["secret"]), pass_token(SCENE), SCENE).body
check("a created key works once enabled", r.result.verify_code == "T001", r)

real_timestamp = Utils.get_timestamp
Utils.get_timestamp = staticmethod(lambda: "2020-01-01T00:00:00Z")
code = error_code(lambda: verify(sdk, "x", SCENE))
Utils.get_timestamp = real_timestamp
check("a stale x-acs-date is refused with InvalidTimeStamp.Expired", code == "InvalidTimeStamp.Expired", code)

real_nonce = Utils.get_nonce
Utils.get_nonce = staticmethod(lambda: "fixed-nonce-for-replay-test-" + TENANT)
first = error_code(lambda: verify(sdk, "", SCENE))
second = error_code(lambda: verify(sdk, "", SCENE))
Utils.get_nonce = real_nonce
check("a reused signature nonce is refused with SignatureNonceUsed", first is None and second == "SignatureNonceUsed", (first, second))

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
