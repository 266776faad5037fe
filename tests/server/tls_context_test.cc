// tls_context_test.cc: --ssl-version's names, and building and reloading the SSL_CTX.
//
// Thread: the test's main thread.
#include "tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config.h"
#include "tls_test_certs.h"

namespace appserver::server {
namespace {

std::string subjectOf(const TlsContext& context) {
  char subject[256] = "";
  X509_NAME_oneline(X509_get_subject_name(SSL_CTX_get0_certificate(context.get())), subject,
                    sizeof(subject));
  return subject;
}

TlsConfig configFor(const TlsFiles& files) {
  TlsConfig config;
  config.certfile = files.cert();
  config.keyfile = files.key();
  return config;
}

// The message of the ConfigError that building config throws, or "" when none is thrown.
std::string refusal(const TlsConfig& config) {
  try {
    TlsContext::createIfConfigured(config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseSslVersion, MapsGunicornsNamesAndNumbersToTls12And13) {
  TlsVersionRange range;
  for (const char* both : {"TLS", "SSLv23", "TLS_SERVER", "2", "17"}) {
    range = {TlsVersion::Tls13, TlsVersion::Tls12};
    EXPECT_EQ(parseSslVersion(both, range), "") << both;
    EXPECT_EQ(range.min, TlsVersion::Tls12) << both;
    EXPECT_EQ(range.max, TlsVersion::Tls13) << both;
  }
  for (const char* only12 : {"TLSv1_2", "5"}) {
    EXPECT_EQ(parseSslVersion(only12, range), "");
    EXPECT_EQ(range.min, TlsVersion::Tls12);
    EXPECT_EQ(range.max, TlsVersion::Tls12);
  }
  EXPECT_EQ(parseSslVersion("TLSv1_3", range), "");
  EXPECT_EQ(range.min, TlsVersion::Tls13);
  EXPECT_EQ(range.max, TlsVersion::Tls13);
}

TEST(ParseSslVersion, RefusesProtocolsOlderThanTls12) {
  TlsVersionRange range;
  for (const char* old : {"SSLv2", "SSLv3", "TLSv1", "TLSv1_1", "0", "1", "3", "4"}) {
    EXPECT_NE(parseSslVersion(old, range).find("insecure protocol"), std::string::npos) << old;
  }
  EXPECT_EQ(parseSslVersion("4", range).substr(0, 13), "4 (TLSv1_1) i");
  EXPECT_NE(parseSslVersion("TLS_CLIENT", range).find("client"), std::string::npos);
  EXPECT_NE(parseSslVersion("tls", range).find("unknown protocol 'tls'"), std::string::npos);
}

TEST(TlsContext, IsOffWithoutACertificate) {
  EXPECT_EQ(TlsContext::createIfConfigured(TlsConfig{}), nullptr);
  TlsConfig key_only;
  key_only.keyfile = "/some/key.pem";
  EXPECT_NE(refusal(key_only).find("--keyfile needs --certfile"), std::string::npos);
}

TEST(TlsContext, AllowsTls12And13WithoutRenegotiationOrCompression) {
  TlsFiles files;
  const auto context = TlsContext::createIfConfigured(configFor(files));
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(context->get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(context->get()), TLS1_3_VERSION);
  const uint64_t options = SSL_CTX_get_options(context->get());
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(context->get()), SSL_VERIFY_NONE);
  EXPECT_NE(context->describe().find("/CN=localhost"), std::string::npos);
  EXPECT_NE(context->describe().find("TLS 1.2-1.3"), std::string::npos);
}

TEST(TlsContext, TakesTheKeyFromTheCertificateFileWithoutKeyfile) {
  TlsFiles files;
  {
    std::ofstream both(files.path("both.pem"));
    both << std::ifstream(files.cert()).rdbuf() << std::ifstream(files.key()).rdbuf();
  }
  TlsConfig config;
  config.certfile = files.path("both.pem");
  EXPECT_NE(TlsContext::createIfConfigured(config), nullptr);
}

TEST(TlsContext, RefusesUnusableFilesWithTheOptionAndTheReason) {
  TlsFiles files;
  TlsFiles other("other");
  TlsConfig missing = configFor(files);
  missing.certfile = files.path("missing.pem");
  EXPECT_NE(refusal(missing).find("--certfile " + missing.certfile + ": No such file"),
            std::string::npos);
  TlsConfig mismatch = configFor(files);
  mismatch.keyfile = other.key();
  EXPECT_NE(refusal(mismatch).find("does not match the certificate"), std::string::npos);
  TlsConfig not_a_key = configFor(files);
  not_a_key.keyfile = files.cert();
  EXPECT_NE(refusal(not_a_key).find("--keyfile " + files.cert()), std::string::npos);
  TlsConfig no_ca = configFor(files);
  no_ca.cert_reqs = 2;
  EXPECT_NE(refusal(no_ca).find("needs --ca-certs"), std::string::npos);
  TlsConfig ciphers = configFor(files);
  ciphers.ciphers = "NOSUCHCIPHER";
  EXPECT_NE(refusal(ciphers).find("--ciphers 'NOSUCHCIPHER'"), std::string::npos);
  TlsConfig old = configFor(files);
  old.ssl_version = "TLSv1_1";
  EXPECT_NE(refusal(old).find("--ssl-version TLSv1_1 is an insecure"), std::string::npos);
}

TEST(TlsContext, VerifiesClientCertificatesAsCertReqsSays) {
  TlsFiles files;
  TlsConfig config = configFor(files);
  config.ca_certs = files.cert();
  config.cert_reqs = 1;
  EXPECT_EQ(SSL_CTX_get_verify_mode(TlsContext::createIfConfigured(config)->get()),
            SSL_VERIFY_PEER);
  config.cert_reqs = 2;
  EXPECT_EQ(SSL_CTX_get_verify_mode(TlsContext::createIfConfigured(config)->get()),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

TEST(TlsContext, ReloadTakesNewFilesAndKeepsTheOldContextWhenTheyAreBad) {
  TlsFiles first("first");
  TlsFiles second("second");
  TlsFiles live("live");
  std::filesystem::copy_file(first.cert(), live.cert(),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(first.key(), live.key(),
                             std::filesystem::copy_options::overwrite_existing);
  const auto context = TlsContext::createIfConfigured(configFor(live));
  EXPECT_EQ(subjectOf(*context), "/CN=first");

  std::filesystem::copy_file(second.cert(), live.cert(),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(second.key(), live.key(),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(context->reload());
  EXPECT_EQ(subjectOf(*context), "/CN=second");

  std::filesystem::copy_file(first.cert(), live.cert(),  // without its key
                             std::filesystem::copy_options::overwrite_existing);
  const ssl_ctx_st* before = context->get();
  EXPECT_FALSE(context->reload());
  EXPECT_EQ(context->get(), before);
  EXPECT_EQ(subjectOf(*context), "/CN=second");
}

}  // namespace
}  // namespace appserver::server
