#include "app/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace relay::app {
namespace {

namespace fs = std::filesystem;

// A self-signed certificate and key made with the openssl tool, in a fresh directory.
class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tls_context_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    make_cert("a");
    make_cert("b");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void make_cert(const std::string& name) {
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=" +
        name + " -keyout " + (dir_ / (name + ".key")).string() + " -out " +
        (dir_ / (name + ".pem")).string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  void write(const std::string& f, const std::string& text) const {
    std::ofstream(path(f)) << text;
  }
  static std::string subject(const TlsContextStore& store) {
    X509* cert = SSL_CTX_get0_certificate(store.current()->native_handle());
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
  }
  fs::path dir_;
};

TEST_F(TlsFiles, LoadsWithModernDefaults) {
  auto ctx = load_tls_context(path("a.pem"), path("a.key"));
  SSL_CTX* native = ctx->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  auto options = SSL_CTX_get_options(native);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_NE(options & SSL_OP_NO_TICKET, 0u);
  // Only ECDHE AEAD suites for TLS 1.2.
  SSL* ssl = SSL_new(native);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(ssl);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    std::string name = SSL_CIPHER_get_name(c);
    if (std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;
    EXPECT_NE(name.find("ECDHE"), std::string::npos) << name;
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << name;
  }
  SSL_free(ssl);
}

TEST_F(TlsFiles, BadFilesThrowNamingTheFileNotItsContents) {
  write("junk.pem", "SECRET-CONTENT-NOT-A-CERT");
  try {
    load_tls_context(path("junk.pem"), path("a.key"));
    FAIL() << "loaded a junk certificate";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path("junk.pem")), std::string::npos) << what;
    EXPECT_EQ(what.find("SECRET-CONTENT"), std::string::npos) << what;
  }
  EXPECT_THROW(load_tls_context(path("missing.pem"), path("a.key")), std::runtime_error);
  EXPECT_THROW(load_tls_context(path("a.pem"), path("b.key")), std::runtime_error);  // mismatch
}

TEST_F(TlsFiles, ReloadSwapsOnSuccessAndKeepsTheOldContextOnFailure) {
  fs::copy_file(path("a.pem"), path("live.pem"));
  fs::copy_file(path("a.key"), path("live.key"));
  TlsContextStore store(path("live.pem"), path("live.key"));
  auto before = store.current();
  EXPECT_NE(subject(store).find("CN=a"), std::string::npos);

  write("live.pem", "not a certificate");
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.current(), before);  // the old context stays in use

  fs::copy_file(path("b.pem"), path("live.pem"), fs::copy_options::overwrite_existing);
  fs::copy_file(path("b.key"), path("live.key"), fs::copy_options::overwrite_existing);
  EXPECT_TRUE(store.reload());
  EXPECT_NE(store.current(), before);
  EXPECT_NE(subject(store).find("CN=b"), std::string::npos);
  // A connection that still holds the old context keeps a working one.
  EXPECT_NE(SSL_CTX_get0_certificate(before->native_handle()), nullptr);
}

}  // namespace
}  // namespace relay::app
