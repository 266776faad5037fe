// status.cc: fixed descriptions for auth::Status.
//
// The switch has no default branch so that adding an enumerator without a phrase is a
// compiler warning (-Wswitch). Thread: any.
#include "auth/status.h"

namespace appserver::auth {

// Longer than the 40-line guideline on purpose: one case per enumerator, kept in one
// exhaustive switch so the compiler flags a missing phrase.
std::string_view toString(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::TokenTooLarge:
      return "token too large";
    case Status::TokenMalformed:
      return "token is not a compact JWS (three dot-separated parts)";
    case Status::Base64Invalid:
      return "invalid base64url encoding";
    case Status::JsonInvalid:
      return "invalid JSON";
    case Status::JsonDuplicateKey:
      return "duplicate member name in JSON object";
    case Status::JsonTooDeep:
      return "JSON nested too deeply";
    case Status::HeaderInvalid:
      return "invalid JOSE header";
    case Status::AlgNone:
      return "unsecured token (alg none) refused";
    case Status::AlgUnsupported:
      return "unsupported algorithm";
    case Status::AlgNotAllowed:
      return "algorithm not allowed";
    case Status::CritUnsupported:
      return "critical header extension not understood";
    case Status::KeyNotFound:
      return "no matching key";
    case Status::KeyAlgMismatch:
      return "key does not fit the token's algorithm";
    case Status::SignatureMalformed:
      return "signature has the wrong length";
    case Status::SignatureInvalid:
      return "signature verification failed";
    case Status::PayloadInvalid:
      return "payload is not a JSON object";
    case Status::ClaimMissing:
      return "required claim missing";
    case Status::ClaimInvalid:
      return "claim has the wrong type";
    case Status::Expired:
      return "token expired";
    case Status::NotYetValid:
      return "token not yet valid";
    case Status::IssuedInFuture:
      return "token issued in the future";
    case Status::IssuerMismatch:
      return "issuer mismatch";
    case Status::AudienceMismatch:
      return "audience mismatch";
    case Status::TokenTypeMismatch:
      return "token_type mismatch";
    case Status::KeyInvalid:
      return "invalid key";
    case Status::KeyWeak:
      return "key too weak";
    case Status::KeyUnsupported:
      return "unsupported key type, curve or algorithm";
    case Status::KeyPrivateMaterial:
      return "private key material where a public key belongs";
    case Status::KeyDuplicateKid:
      return "duplicate key id (kid)";
    case Status::KeySetMixed:
      return "key set mixes symmetric and asymmetric keys";
    case Status::KeySetEmpty:
      return "no key usable for signature verification";
    case Status::SecretUnavailable:
      return "secret unavailable";
    case Status::FileUnreadable:
      return "file cannot be read";
    case Status::ConfigInvalid:
      return "invalid configuration";
    case Status::InternalError:
      return "internal error";
  }
  return "unknown status";
}

}  // namespace appserver::auth
