// tls_test_certs.h: throwaway certificates for the TLS unit tests, made with OpenSSL.
//
// Each TlsFiles is a directory of its own with a self-signed P-256 certificate for
// "localhost" and its key, removed when the object goes.
// Thread: the test's main thread.
#pragma once

#include <string>

namespace appserver::server {

class TlsFiles {
 public:
  // A new directory holding cert.pem and key.pem for the subject CN=common_name.
  explicit TlsFiles(const std::string& common_name = "localhost");
  ~TlsFiles();
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

}  // namespace appserver::server
