// tls_context.cc: --ssl-version's names, and building and reloading the SSL_CTX.
//
// Thread: see tls_context.h.
#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "check.h"
#include "log.h"

namespace appserver::server {

namespace {

// Forward-secret AEAD suites only (TLS 1.2; TLS 1.3's suites are all of that kind).
constexpr const char* kDefaultCiphers = "ECDHE+AESGCM:ECDHE+CHACHA20";
constexpr unsigned char kSessionIdContext[] = "appserver";
// ALPN's wire format: a length byte, then the name.
constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

struct SslVersionName {
  std::string_view name;
  std::string_view number;  // Python's ssl.PROTOCOL_* value, as Gunicorn also accepts it
  const char* refusal;      // null: allowed
  TlsVersionRange range;
};

constexpr const char* kInsecure =
    "is an insecure protocol; appserver speaks TLS 1.2 and 1.3 only (--ssl-version TLS)";
constexpr SslVersionName kSslVersions[] = {
    {"TLS", "2", nullptr, {TlsVersion::Tls12, TlsVersion::Tls13}},
    {"SSLv23", "2", nullptr, {TlsVersion::Tls12, TlsVersion::Tls13}},
    {"TLS_SERVER", "17", nullptr, {TlsVersion::Tls12, TlsVersion::Tls13}},
    {"TLSv1_2", "5", nullptr, {TlsVersion::Tls12, TlsVersion::Tls12}},
    {"TLSv1_3", "", nullptr, {TlsVersion::Tls13, TlsVersion::Tls13}},
    {"SSLv2", "0", kInsecure, {}},
    {"SSLv3", "1", kInsecure, {}},
    {"TLSv1", "3", kInsecure, {}},
    {"TLSv1_1", "4", kInsecure, {}},
    {"TLS_CLIENT", "16", "is a client's protocol; a server uses TLS or TLS_SERVER", {}},
};

int protocolNumber(TlsVersion version) {
  switch (version) {
    case TlsVersion::Tls12:
      return TLS1_2_VERSION;
    case TlsVersion::Tls13:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

std::string_view versionName(TlsVersion version) {
  return version == TlsVersion::Tls12 ? "1.2" : "1.3";
}

// The reason of OpenSSL's latest error; the error queue is cleared.
std::string opensslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// "--certfile PATH: reason" when the file cannot be read at all: clearer than OpenSSL's.
bool readable(const char* option, const std::string& path, std::string& error) {
  if (::access(path.c_str(), R_OK) != 0) {
    error = std::string(option) + " " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// A key with a passphrase would make OpenSSL prompt on the terminal: refuse it instead.
int noPassphrase(char*, int, int, void*) { return 0; }

// ALPN: http/1.1 when the client offers it; anything else (h2 alone, say) gets no ALPN
// answer, and the client decides whether HTTP/1.1 without ALPN will do.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kHttp11, sizeof(kHttp11), in, in_len) !=
          OPENSSL_NPN_NEGOTIATED ||
      *out_len != sizeof(kHttp11) - 1 || std::memcmp(selected, kHttp11 + 1, *out_len) != 0) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

bool loadIdentity(SSL_CTX* ctx, const TlsConfig& config, std::string& error) {
  const std::string& keyfile = config.keyfile.empty() ? config.certfile : config.keyfile;
  const char* key_option = config.keyfile.empty() ? "--certfile" : "--keyfile";
  if (!readable("--certfile", config.certfile, error) || !readable(key_option, keyfile, error)) {
    return false;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certfile.c_str()) != 1) {
    error = "--certfile " + config.certfile + ": " + opensslError();
    return false;
  }
  SSL_CTX_set_default_passwd_cb(ctx, noPassphrase);
  // Also checks that the key is the certificate's.
  if (SSL_CTX_use_PrivateKey_file(ctx, keyfile.c_str(), SSL_FILETYPE_PEM) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    error = std::string(key_option) + " " + keyfile + ": " +
            (mismatch ? "the private key does not match the certificate in --certfile " +
                            config.certfile
                      : opensslError() + " (a key with a passphrase is not supported)");
    ERR_clear_error();
    return false;
  }
  return true;
}

bool loadClientVerification(SSL_CTX* ctx, const TlsConfig& config, std::string& error) {
  if (config.cert_reqs == 0) {
    return true;  // Gunicorn's default: no client certificate asked for, --ca-certs or not
  }
  if (config.ca_certs.empty()) {
    error = "--cert-reqs " + std::to_string(config.cert_reqs) +
            " needs --ca-certs: the CAs client certificates are checked against";
    return false;
  }
  if (!readable("--ca-certs", config.ca_certs, error)) {
    return false;
  }
  if (SSL_CTX_load_verify_locations(ctx, config.ca_certs.c_str(), nullptr) != 1) {
    error = "--ca-certs " + config.ca_certs + ": " + opensslError();
    return false;
  }
  // The CAs the server names in its certificate request, so the client picks a fitting one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_certs.c_str());
  if (names == nullptr) {
    error = "--ca-certs " + config.ca_certs + ": no certificate in the file";
    ERR_clear_error();
    return false;
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx,
                     config.cert_reqs == 2 ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                           : SSL_VERIFY_PEER,
                     nullptr);
  return true;
}

}  // namespace

std::string parseSslVersion(std::string_view value, TlsVersionRange& range) {
  for (const SslVersionName& v : kSslVersions) {
    if (value == v.name || (!v.number.empty() && value == v.number)) {
      if (v.refusal != nullptr) {
        const std::string name =
            value == v.name ? std::string(value) : std::string(value) + " (" + std::string(v.name) + ")";
        return name + " " + v.refusal;
      }
      range = v.range;
      return "";
    }
  }
  return "unknown protocol '" + std::string(value) +
         "': expected TLS, TLS_SERVER, SSLv23, TLSv1_2 or TLSv1_3";
}

void TlsContext::CtxFree::operator()(ssl_ctx_st* ctx) const noexcept { SSL_CTX_free(ctx); }

TlsContext::TlsContext(TlsConfig config, CtxPtr ctx)
    : config_(std::move(config)), ctx_(std::move(ctx)) {}

TlsContext::~TlsContext() = default;

std::unique_ptr<TlsContext> TlsContext::createIfConfigured(const TlsConfig& config) {
  if (config.certfile.empty()) {
    if (!config.keyfile.empty()) {
      throw ConfigError("--keyfile needs --certfile: the certificate the key belongs to");
    }
    if (!config.ca_certs.empty() || config.cert_reqs != 0 || !config.ciphers.empty()) {
      logAt(LogLevel::Warning, "--ca-certs, --cert-reqs and --ciphers are ignored without "
                               "--certfile: TLS is off");
    }
    return nullptr;
  }
  if (!config.ca_certs.empty() && config.cert_reqs == 0) {
    logAt(LogLevel::Warning, "--ca-certs without --cert-reqs 1 or 2 asks clients for no "
                             "certificate (as in Gunicorn)");
  }
  std::string error;
  CtxPtr ctx = build(config, error);
  if (!ctx) {
    throw ConfigError(error);
  }
  return std::unique_ptr<TlsContext>(new TlsContext(config, std::move(ctx)));
}

TlsContext::CtxPtr TlsContext::build(const TlsConfig& config, std::string& error) {
  TlsVersionRange range;
  if (error = parseSslVersion(config.ssl_version, range); !error.empty()) {
    error = "--ssl-version " + error;
    return nullptr;
  }
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  APPSERVER_CHECK(ctx != nullptr);  // out of memory
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, protocolNumber(range.min));
  SSL_CTX_set_max_proto_version(c, protocolNumber(range.max));
  // No renegotiation (a client could make the server redo handshakes at will), the
  // server's order of ciphers, and OpenSSL's buffers freed while a connection is idle.
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  const std::string& ciphers = config.ciphers.empty() ? kDefaultCiphers : config.ciphers;
  if (SSL_CTX_set_cipher_list(c, ciphers.c_str()) != 1) {
    ERR_clear_error();
    error = "--ciphers '" + ciphers + "': no cipher OpenSSL knows matches";
    return nullptr;
  }
  if (!loadIdentity(c, config, error) || !loadClientVerification(c, config, error)) {
    return nullptr;
  }
  SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_alpn_select_cb(c, selectAlpn, nullptr);
  return ctx;
}

bool TlsContext::reload() {
  std::string error;
  CtxPtr fresh = build(config_, error);
  if (!fresh) {
    logAt(LogLevel::Error, "Hang up: TLS not reloaded, new workers keep the current certificate: {}",
          error);
    return false;
  }
  ctx_ = std::move(fresh);
  logAt(LogLevel::Info, "Hang up: TLS reloaded: {}", describe());
  return true;
}

std::string TlsContext::describe() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_.get());
  char subject[256] = "?";
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  std::tm expiry{};
  char expires[32] = "?";
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &expiry) == 1) {
    std::strftime(expires, sizeof(expires), "%Y-%m-%d %H:%M UTC", &expiry);
  }
  TlsVersionRange range;
  parseSslVersion(config_.ssl_version, range);
  const char* clients = config_.cert_reqs == 2   ? ", client certificates required"
                        : config_.cert_reqs == 1 ? ", client certificates verified when sent"
                                                 : "";
  return fmt::format("certificate {} (expires {}), TLS {}-{}{}", subject, expires,
                     versionName(range.min), versionName(range.max), clients);
}

}  // namespace appserver::server
