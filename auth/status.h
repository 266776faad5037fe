// status.h: the outcome of every auth/ operation, as one enum class.
//
// auth/ never throws (STYLE.md, error handling): each function that can fail returns a
// Status, and the caller maps it to a response (server/ maps token failures to 401).
// toString() gives a short, fixed English phrase that never contains token or key bytes,
// so it is safe to log and to print from the operator tool.
// Thread: any; pure functions.
#pragma once

#include <string_view>

namespace appserver::auth {

enum class Status {
  // Success.
  Ok,

  // --- token shape (checked before any cryptography) ---
  // The token is longer than Policy::max_token_size; nothing was decoded.
  TokenTooLarge,
  // The token is empty or does not have exactly three dot-separated segments.
  TokenMalformed,
  // A segment is not strict base64url (alphabet, padding, length or trailing bits).
  Base64Invalid,
  // A JSON text is not well-formed, or is not valid UTF-8.
  JsonInvalid,
  // A JSON object repeats a member name.
  JsonDuplicateKey,
  // A JSON text nests deeper than the configured limit.
  JsonTooDeep,
  // The protected header is not an object, or a registered member has the wrong type.
  HeaderInvalid,

  // --- algorithm ---
  // The header's alg is "none" in any letter case: unsecured tokens are never accepted.
  AlgNone,
  // The header's alg is not a JWS algorithm this library implements.
  AlgUnsupported,
  // The header's alg is implemented but not in the policy's allow-list.
  AlgNotAllowed,
  // The header lists a "crit" extension, and no extension is understood.
  CritUnsupported,

  // --- key and signature ---
  // No key in the key set matches the token's kid (or, without kid, its algorithm).
  KeyNotFound,
  // A key matched the kid but its type, curve, alg or strength does not fit the token's alg.
  KeyAlgMismatch,
  // The signature has the wrong length for the algorithm and key.
  SignatureMalformed,
  // The signature does not verify.
  SignatureInvalid,

  // --- claims (checked only after the signature verifies) ---
  // The payload is not a JSON object.
  PayloadInvalid,
  // A required claim (exp by default, the user claim, or a configured one) is absent.
  ClaimMissing,
  // A registered claim has the wrong JSON type (e.g. exp is a string).
  ClaimInvalid,
  // now >= exp + leeway.
  Expired,
  // now + leeway < nbf.
  NotYetValid,
  // iat lies beyond now + leeway.
  IssuedInFuture,
  // iss differs from the configured issuer.
  IssuerMismatch,
  // aud shares no value with the configured audiences (or is present while none is).
  AudienceMismatch,
  // token_type differs from the configured value.
  TokenTypeMismatch,

  // --- key loading and configuration ---
  // A key could not be parsed (bad PEM, bad JWK member, bad encoding).
  KeyInvalid,
  // A key is weaker than the library accepts (short HMAC secret, small RSA modulus, ROCA).
  KeyWeak,
  // A key has a type, curve or algorithm the library does not implement.
  KeyUnsupported,
  // Private key material was offered where only public keys belong.
  KeyPrivateMaterial,
  // Two keys share one kid.
  KeyDuplicateKid,
  // One JWKS document mixes symmetric (oct) and asymmetric keys.
  KeySetMixed,
  // A key source produced no key usable for signature verification.
  KeySetEmpty,
  // A secret's environment variable is unset or empty, or its file cannot be read.
  SecretUnavailable,
  // A key file cannot be read.
  FileUnreadable,
  // An option value is invalid (unknown algorithm name, negative leeway, conflicting sources).
  ConfigInvalid,
  // An OpenSSL call failed for a reason other than the input (e.g. allocation).
  InternalError,
};

// Returns a short fixed description of status, e.g. "token expired". Never empty.
std::string_view toString(Status status);

}  // namespace appserver::auth
