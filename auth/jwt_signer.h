// jwt_signer.h: produce compact JWS tokens, for the operator tool and for tests.
//
// The server never signs; this exists so that `appserver-jwt sign` can mint tokens for
// load tests and so that unit tests can build tokens with any header. Keys come from
// makeHmacKey or makePrivateKeyFromPem (key.h).
// Thread: any; never throws.
#pragma once

#include <string>
#include <string_view>

#include "auth/alg.h"
#include "auth/key.h"
#include "auth/status.h"

namespace appserver::auth {

// Signs base64url(header_json) "." base64url(payload) with key under alg and writes the
// token to out. header_json is used verbatim (it need not even name alg), which lets tests
// build hostile tokens. Returns KeyAlgMismatch or InternalError on failure.
Status signJws(Alg alg, const Key& key, std::string_view header_json, std::string_view payload,
               std::string& out);

// Signs payload_json with the header {"alg":"<alg>","typ":"JWT"} plus "kid" when kid is
// not empty.
Status signJwt(Alg alg, const Key& key, std::string_view payload_json, std::string_view kid,
               std::string& out);

}  // namespace appserver::auth
