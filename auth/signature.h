// signature.h: the raw JWS signature primitives (RFC 7518 section 3, RFC 8037, RFC 8812).
//
// These are the functions the token layer calls after splitting and decoding a JWS; they
// take the signing input and the decoded signature as bytes, so the Wycheproof primitive
// vectors (which are not tokens) can drive them directly. ECDSA signatures are the JOSE
// form r||s, each exactly the curve's coordinate size; DER is refused.
// Thread: any; the Key is only read.
#pragma once

#include <string>
#include <string_view>

#include "auth/alg.h"
#include "auth/key.h"
#include "auth/status.h"

namespace appserver::auth {

// Checks signature over input with key under alg. Returns Ok, SignatureInvalid,
// SignatureMalformed (wrong length for alg and key), KeyAlgMismatch (the key's type or
// curve cannot serve alg; the JWK alg binding and HMAC strength are not checked here, see
// keyFitsAlg) or InternalError. Never throws; clears OpenSSL's error queue on failure.
Status verifySignature(Alg alg, const Key& key, std::string_view input, std::string_view signature);

// Fills key.verify_templates for every RSA/ECDSA algorithm the key can serve, so that
// verifySignature() duplicates a ready context instead of initialising one per signature.
// Called by makeKeyFromPkey; a template OpenSSL refuses stays null (the slow path is used).
void prepareVerifyTemplates(Key& key);

// Signs input with key (a private key, or an HMAC secret) under alg, writing the JOSE form
// of the signature to out. For the operator tool and tests; the server never signs.
Status signRaw(Alg alg, const Key& key, std::string_view input, std::string& out);

}  // namespace appserver::auth
