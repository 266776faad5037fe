"""make_seeds.py: seed corpora for the fuzz targets, written into a temporary directory.

Seeds come from the shared corpus beside the repository (read in place, never copied into
the repository) plus a few hand-written inputs for the paths the corpus does not cover (the
llhttp CVE payloads of docs/security.md, command lines):

  http    ../shared/corpus/http-requests/{valid,invalid}/*.raw, the smuggling payloads
  jwt     ../shared/corpus/jose-rfc tokens, the compact JWS of the Wycheproof JWS/JWK tests
  jwks    the keys of those files (public and private JWKs and JWK sets)
  config  command lines

Usage: make_seeds.py SHARED_DIR OUT_DIR   (creates OUT_DIR/{http,jwt,jwks,config})
Standard library only.
"""
import hashlib
import json
import sys
from pathlib import Path

# The exploit of each llhttp CVE after 8.1.0 (docs/security.md), and other framing tricks.
HTTP_SEEDS = [
    b"POST / HTTP/1.1\r\nHost: a\r\nX-Abc: \rxTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n Content-Length: 5\r\nHost: a\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1;" + b"x" * 3000 + b"\r\nA\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\rXGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /x\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a.b.c\r\nCookie: jwt=a.b.c\r\n"
    b"X-Forwarded-For: 1.2.3.4, 10.0.0.1\r\nForwarded: for=\"[::1]:80\";proto=https\r\n\r\n",
    b"PUT /p?q=1 HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
]

CONFIG_SEEDS = [
    b"--workers 4 --bind 127.0.0.1:8000 myproj.wsgi:application",
    b"-w3 -b unix:/tmp/a.sock --threads=8 --timeout 30 --keep-alive 2 app",
    b"--bind '[::1]:8000' -e 'A=b c' --pythonpath a,b --chdir \"/srv/my app\" app:main",
    b"--limit-request-line 0 --limit-request-fields 10 --limit-request-field_size 0 "
    b"--limit-request-body 1024 --body-memory-limit 64 --worker-tmp-dir /tmp app",
    b"--access-logfile - --access-logformat '%(h)s %(r)s %(s)s' --log-level DEBUG app",
    b"--jwt-secret-env SECRET --jwt-algorithms HS256,RS256 --jwt-audience api "
    b"--jwt-issuer joe --jwt-leeway 30 --jwt-require jti --jwt-protect /api "
    b"--jwt-exempt /api/public --jwt-cookie jwt --jwt-header-types Bearer,JWT app",
    b"--forwarded-allow-ips '*' --max-requests 100 --max-requests-jitter 10 app",
    b"--print-config app\\ name",
    b"--help",
    b"--version",
    b"app\0--workers\0" b"2\0--bind\0" b"0.0.0.0:80",
]


def write(directory, data):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def wycheproof_groups(shared):
    for name in ("json_web_signature_test.json", "json_web_key_test.json",
                 "json_web_crypto_test.json"):
        path = shared / "corpus" / "wycheproof" / name
        if path.is_file():
            yield from json.loads(path.read_text())["testGroups"]


def main(shared, out):
    requests = shared / "corpus" / "http-requests"
    for raw in sorted(requests.glob("*/*.raw")):
        write(out / "http", raw.read_bytes())
    for data in HTTP_SEEDS:
        write(out / "http", data)

    vectors = json.loads((shared / "corpus" / "jose-rfc" / "vectors.json").read_text())
    for v in vectors:
        write(out / "jwt", v["token"].encode())
        for key in ("key_jwk", "private_jwk"):
            if v.get(key):
                write(out / "jwks", json.dumps(v[key]).encode())
    for group in wycheproof_groups(shared):
        for key in ("public", "private"):
            if group.get(key):
                write(out / "jwks", json.dumps(group[key]).encode())
        for test in group["tests"]:
            jws = test.get("jws")
            if isinstance(jws, str) and jws.count(".") == 2:
                write(out / "jwt", jws.encode())

    for data in CONFIG_SEEDS:
        write(out / "config", data)
    for kind in ("http", "jwt", "jwks", "config"):
        print(f"{kind}: {len(list((out / kind).iterdir()))} seeds")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
