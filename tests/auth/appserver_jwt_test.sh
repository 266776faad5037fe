#!/bin/sh
# appserver_jwt_test.sh: end-to-end checks of the operator tool (auth/tool/appserver_jwt.cc).
#
# Usage: appserver_jwt_test.sh PATH/TO/appserver-jwt
# Signs tokens with HS256, ES256, RS256 and EdDSA, verifies them, and checks that a bad
# token exits 1 with the reason on stderr. Uses a fixed --now so it never depends on the
# clock. Prints "N passed, 0 failed" and exits non-zero on the first failure.
set -u
TOOL=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
NOW=1700000000
PASSED=0

fail() {
  echo "FAIL: $*" >&2
  echo "$PASSED passed, 1 failed"
  exit 1
}
pass() { PASSED=$((PASSED + 1)); }

export APPSERVER_JWT_TEST_SECRET=0123456789abcdef0123456789abcdef-test
CLAIMS='{"user_id":42,"token_type":"access"}'

token=$("$TOOL" sign --alg HS256 --jwt-secret-env APPSERVER_JWT_TEST_SECRET \
  --expires-in 300 --now $NOW "$CLAIMS") || fail "sign HS256"
pass
out=$("$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET --jwt-user-claim user_id \
  --jwt-token-type access --now $NOW "$token") || fail "verify HS256"
[ "$out" = '{"exp":1700000300,"iat":1700000000,"token_type":"access","user_id":42}' ] ||
  fail "claims output: $out"
pass
out=$(echo "$token" | "$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET \
  --jwt-user-claim user_id --now $NOW) || fail "verify from stdin"
pass

"$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET --jwt-user-claim user_id \
  --now 1700000300 "$token" 2>"$WORK/err" >/dev/null
[ $? -eq 1 ] || fail "expired token must exit 1"
grep -q "token expired (exp)" "$WORK/err" || fail "expired reason: $(cat "$WORK/err")"
pass

"$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET --now $NOW "${token}x" 2>"$WORK/err"
[ $? -eq 1 ] || fail "tampered token must exit 1"
grep -q "invalid token:" "$WORK/err" || fail "tampered reason: $(cat "$WORK/err")"
pass

"$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET --now $NOW \
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' 2>"$WORK/err"
[ $? -eq 1 ] || fail "alg none must exit 1"
grep -q "alg none" "$WORK/err" || fail "alg none reason: $(cat "$WORK/err")"
pass

"$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_UNSET --now $NOW "$token" 2>"$WORK/err"
[ $? -eq 2 ] || fail "missing secret must exit 2"
pass

"$TOOL" decode "$token" >"$WORK/out" || fail "decode"
grep -q "^UNVERIFIED" "$WORK/out" || fail "decode must label its output UNVERIFIED"
grep -q '"user_id": 42' "$WORK/out" || fail "decode payload: $(cat "$WORK/out")"
pass

out=$("$TOOL" verify --jwt-secret-env APPSERVER_JWT_TEST_SECRET --no-claims --now $NOW \
  "$token") || fail "verify --no-claims"
pass

for spec in "ES256 EC -pkeyopt ec_paramgen_curve:P-256" "RS256 RSA -pkeyopt rsa_keygen_bits:2048" \
  "PS256 RSA -pkeyopt rsa_keygen_bits:2048" "EdDSA ED25519"; do
  set -- $spec
  alg=$1
  shift
  openssl genpkey -algorithm "$@" -out "$WORK/$alg.key" 2>/dev/null || fail "genpkey $alg"
  openssl pkey -in "$WORK/$alg.key" -pubout -out "$WORK/$alg.pub" || fail "pubout $alg"
  token=$("$TOOL" sign --alg "$alg" --private-key "$WORK/$alg.key" --kid k1 --expires-in 60 \
    --now $NOW '{"sub":"alice"}') || fail "sign $alg"
  out=$("$TOOL" verify --jwt-public-key "$WORK/$alg.pub" --jwt-algorithms "$alg" --now $NOW \
    "$token") || fail "verify $alg"
  pass
  "$TOOL" verify --jwt-public-key "$WORK/$alg.pub" --jwt-algorithms HS256 --now $NOW "$token" \
    2>/dev/null
  [ $? -eq 2 ] || fail "$alg key with an HS256-only allow-list must be a config error"
  pass
  "$TOOL" verify --jwt-public-key "$WORK/$alg.key" --now $NOW "$token" 2>"$WORK/err"
  [ $? -eq 2 ] || fail "private key given as public key must be refused"
  grep -q "private key material" "$WORK/err" || fail "private key reason: $(cat "$WORK/err")"
  pass
done

# The last token is EdDSA; --jwt-public-key repeats and must not swallow the token.
out=$("$TOOL" verify --jwt-public-key "$WORK/ES256.pub" --jwt-public-key "$WORK/EdDSA.pub" \
  --now $NOW "$token") || fail "repeated --jwt-public-key"
pass

echo "$PASSED passed, 0 failed"
