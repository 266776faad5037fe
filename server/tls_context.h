// tls_context.h: the server's TLS configuration: one OpenSSL SSL_CTX built from --certfile,
// --keyfile, --ca-certs, --cert-reqs, --ciphers and --ssl-version.
//
// TLS applies to every listener, as in Gunicorn. The master builds the context before it
// forks the first worker, so a missing file, a key that does not match its certificate or
// a refused protocol stops the start with one line; the workers inherit it across fork(),
// one SSL_CTX each (their copy-on-write copy), and with it the session ticket keys
// OpenSSL made for it: a client resumes its session on whichever worker accepts it. On HUP
// the master builds a new context from the files before the new workers fork; when the
// new files are bad it logs why and keeps the old context, so the new workers serve the
// old certificate (docs/deploying.md, "TLS").
// Thread: the master's only thread (construction, reload); after fork a worker's loop
// thread reads it. OpenSSL is used here and in tls_stream.cc only (STYLE.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of the headers of server/

namespace appserver::server {

// The protocol versions a --ssl-version value allows: TLS 1.2 and 1.3 only.
enum class TlsVersion { Tls12, Tls13 };
struct TlsVersionRange {
  TlsVersion min = TlsVersion::Tls12;
  TlsVersion max = TlsVersion::Tls13;
};

// Gunicorn's --ssl-version values (the names of Python's ssl.PROTOCOL_* constants or their
// numbers): TLS, SSLv23, TLS_SERVER (2, 17) negotiate TLS 1.2 or 1.3; TLSv1_2 (5) is TLS 1.2
// only; TLSv1_3, appserver's own, TLS 1.3 only. Returns "" and sets range, or why the value
// is refused (one line, without the option's name): SSLv2, SSLv3, TLSv1 and TLSv1_1 are
// broken protocols, TLS_CLIENT is a client's.
std::string parseSslVersion(std::string_view value, TlsVersionRange& range);

class TlsContext {
 public:
  // Builds the context from the files as they are now, or returns null when config names
  // no certificate (TLS is off). Throws ConfigError naming the option and the reason.
  static std::unique_ptr<TlsContext> createIfConfigured(const TlsConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Master, on HUP: builds a new context from the files; on success it replaces the old
  // one, else the old one stays and the reason is logged. Returns whether it was replaced.
  bool reload();

  // The context new connections use.
  ssl_ctx_st* get() const { return ctx_.get(); }
  // One line for the start log: the certificate's subject, its expiry and the versions.
  std::string describe() const;

 private:
  struct CtxFree {
    void operator()(ssl_ctx_st* ctx) const noexcept;
  };
  using CtxPtr = std::unique_ptr<ssl_ctx_st, CtxFree>;

  TlsContext(TlsConfig config, CtxPtr ctx);
  // A context from the files now; null with a one-line reason in error.
  static CtxPtr build(const TlsConfig& config, std::string& error);

  TlsConfig config_;
  CtxPtr ctx_;
};

}  // namespace appserver::server
