// tls_test_certs.cc: a P-256 key and a self-signed certificate, written as PEM files.
//
// Thread: the test's main thread.
#include "tls_test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace appserver::server {

namespace {

void writePem(const std::string& path, auto write) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || write(f) != 1 || std::fclose(f) != 0) {
    throw std::runtime_error("cannot write " + path);
  }
}

}  // namespace

TlsFiles::TlsFiles(const std::string& common_name) {
  char pattern[] = "/tmp/appserver-tls-test-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  dir_ = pattern;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) {
    throw std::runtime_error("cannot make a key");
  }
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  writePem(this->cert(), [&](FILE* f) { return PEM_write_X509(f, cert); });
  writePem(this->key(), [&](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  X509_free(cert);
  EVP_PKEY_free(key);
}

TlsFiles::~TlsFiles() { std::filesystem::remove_all(dir_); }

}  // namespace appserver::server
