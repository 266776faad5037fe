// appserver_jwt.cc: the operator tool, build/appserver-jwt.
//
//   appserver-jwt verify [--jwt-* options] [--now SECONDS] [TOKEN]   exit 0: claims on stdout
//                                                                    exit 1: reason on stderr
//   appserver-jwt decode [TOKEN]                       header and payload, labelled UNVERIFIED
//   appserver-jwt sign --alg ALG (--jwt-secret-env NAME | --jwt-secret-file PATH |
//                      --private-key PEM) [--kid KID] [--expires-in SECONDS] [PAYLOAD]
//
// A missing TOKEN or PAYLOAD is read from standard input. verify takes exactly the --jwt-*
// options the server takes (auth/jwt_cli.h). Configuration errors exit with 2.
// Thread: main thread only. This is a program, so unlike the library it reads the clock.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt.h"
#include "auth/jwt_cli.h"
#include "auth/jwt_options.h"
#include "auth/jwt_signer.h"
#include "auth/jwt_verifier.h"
#include "auth/key.h"
#include "auth/key_set.h"
#include "auth/strict_json.h"

namespace appserver::auth {
namespace {

constexpr int kExitInvalid = 1;
constexpr int kExitConfig = 2;

struct VerifyArgs {
  JwtOptions options;
  std::string token;
  std::int64_t now = 0;
};

struct SignArgs {
  std::string alg;
  std::string secret_env;
  std::string secret_file;
  std::string private_key;
  std::string kid;
  std::int64_t expires_in = 0;
  std::int64_t now = 0;
  std::string payload;
};

// Returns text, or all of standard input when text is empty, without surrounding spaces.
std::string argumentOrStdin(std::string text) {
  if (text.empty()) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

std::int64_t currentTime(std::int64_t override_now) {
  return override_now != 0 ? override_now : static_cast<std::int64_t>(std::time(nullptr));
}

int runVerify(const VerifyArgs& args) {
  Policy policy;
  KeySet keys;
  std::string detail;
  if (buildJwtConfig(args.options, policy, keys, &detail) != Status::Ok) {
    std::cerr << "appserver-jwt: " << detail << "\n";
    return kExitConfig;
  }
  const std::string token = argumentOrStdin(args.token);
  const Result result = JwtVerifier(policy).verify(token, keys, currentTime(args.now));
  if (result.status != Status::Ok) {
    std::cerr << "invalid token: " << toString(result.status)
              << (result.claim.empty() ? "" : " (" + result.claim + ")") << "\n";
    return kExitInvalid;
  }
  std::cout << result.claims.json << "\n";
  return 0;
}

// Renders a decoded segment: pretty JSON when it parses, else a JSON string of its bytes.
std::string renderSegment(const std::string& bytes) {
  nlohmann::json value;
  if (parseJsonStrict(bytes, JsonLimits{}, value) == Status::Ok) {
    return dumpJson(value, 2);
  }
  return dumpJson(nlohmann::json(bytes)) + "  (not JSON)";
}

int runDecode(const std::string& argument) {
  std::string header;
  std::string payload;
  const Status status =
      decodeJwtUnverified(argumentOrStdin(argument), JwtLimits{}, header, payload);
  if (status != Status::Ok) {
    std::cerr << "cannot decode: " << toString(status) << "\n";
    return kExitInvalid;
  }
  std::cout << "UNVERIFIED: the signature and claims were NOT checked\n"
            << "UNVERIFIED header: " << renderSegment(header) << "\n"
            << "UNVERIFIED payload: " << renderSegment(payload) << "\n";
  return 0;
}

// Loads the signing key named by args; detail explains a failure.
Status loadSigningKey(const SignArgs& args, Key& key, std::string& detail) {
  std::string material;
  Status status = Status::ConfigInvalid;
  detail = "give exactly one of --jwt-secret-env, --jwt-secret-file, --private-key";
  const int sources =
      !args.secret_env.empty() + !args.secret_file.empty() + !args.private_key.empty();
  if (sources != 1) {
    return status;
  }
  if (!args.private_key.empty()) {
    detail = "--private-key " + args.private_key;
    status = readKeyFile(args.private_key, material);
    return status == Status::Ok ? makePrivateKeyFromPem(material, key) : status;
  }
  detail = args.secret_env.empty() ? "--jwt-secret-file " + args.secret_file
                                   : "--jwt-secret-env " + args.secret_env;
  status = args.secret_env.empty() ? loadSecretFromFile(args.secret_file, material)
                                   : loadSecretFromEnv(args.secret_env, material);
  if (status == Status::Ok && material.size() < kMinHmacSecretSize) {
    status = Status::KeyWeak;
  }
  return status == Status::Ok ? makeHmacKey(material, key) : status;
}

// Parses the payload and adds exp/iat when --expires-in is given.
Status buildPayload(const SignArgs& args, std::string& payload) {
  nlohmann::json claims;
  if (parseJsonStrict(argumentOrStdin(args.payload), JsonLimits{}, claims) != Status::Ok ||
      !claims.is_object()) {
    return Status::PayloadInvalid;
  }
  if (args.expires_in > 0) {
    const std::int64_t now = currentTime(args.now);
    claims["iat"] = now;
    claims["exp"] = now + args.expires_in;
  }
  payload = dumpJson(claims);
  return Status::Ok;
}

int runSign(const SignArgs& args) {
  const std::optional<Alg> alg = algFromName(args.alg);
  if (!alg) {
    std::cerr << "appserver-jwt: --alg " << args.alg << ": unsupported algorithm\n";
    return kExitConfig;
  }
  Key key;
  std::string detail;
  Status status = loadSigningKey(args, key, detail);
  if (status != Status::Ok) {
    std::cerr << "appserver-jwt: " << detail << ": " << toString(status) << "\n";
    return kExitConfig;
  }
  std::string payload;
  std::string token;
  status = buildPayload(args, payload);
  if (status == Status::Ok) {
    status = signJwt(*alg, key, payload, args.kid, token);
  }
  if (status != Status::Ok) {
    std::cerr << "appserver-jwt: cannot sign: " << toString(status) << "\n";
    return kExitConfig;
  }
  std::cout << token << "\n";
  return 0;
}

void addSignOptions(CLI::App& sign, SignArgs& args) {
  sign.add_option("--alg", args.alg, "Algorithm, e.g. HS256, RS256, ES256, EdDSA")->required();
  sign.add_option("--jwt-secret-env", args.secret_env, "Environment variable with HMAC secret");
  sign.add_option("--jwt-secret-file", args.secret_file, "File with the HMAC secret");
  sign.add_option("--private-key", args.private_key, "PEM private key (RS/PS/ES/EdDSA)");
  sign.add_option("--kid", args.kid, "kid header value");
  sign.add_option("--expires-in", args.expires_in, "Set iat=now and exp=now+SECONDS");
  sign.add_option("--now", args.now, "Use this time instead of the clock (tests)");
  sign.add_option("payload", args.payload, "Claims as a JSON object (default: stdin)");
}

int run(int argc, char** argv) {
  CLI::App app{"appserver-jwt: verify, decode and sign JSON Web Tokens"};
  app.require_subcommand(1);
  VerifyArgs verify_args;
  CLI::App* verify = app.add_subcommand("verify", "Verify a token; print its claims if valid");
  addJwtOptions(*verify, verify_args.options);
  verify->add_option("--now", verify_args.now, "Use this time instead of the clock (tests)");
  verify->add_option("token", verify_args.token, "The token (default: stdin)");
  std::string decode_token;
  CLI::App* decode = app.add_subcommand("decode", "Print header and payload WITHOUT verifying");
  decode->add_option("token", decode_token, "The token (default: stdin)");
  SignArgs sign_args;
  CLI::App* sign = app.add_subcommand("sign", "Sign claims into a token (tests, load tests)");
  addSignOptions(*sign, sign_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (verify->parsed()) {
    return runVerify(verify_args);
  }
  return decode->parsed() ? runDecode(decode_token) : runSign(sign_args);
}

}  // namespace
}  // namespace appserver::auth

int main(int argc, char** argv) { return appserver::auth::run(argc, argv); }
