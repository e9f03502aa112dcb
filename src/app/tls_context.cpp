#include "app/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

namespace relay::app {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 list without the DHE suites: ECDHE key exchange, AEAD only.
// TLS 1.3 suites are OpenSSL's defaults (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr unsigned char kSessionContext[] = "codex-relay";

// OpenSSL's reason for the last failure (e.g. "no start line"); never file contents.
std::string openssl_reason() {
  unsigned long e = ERR_peek_error();  // the first one names the cause
  ERR_clear_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return reason != nullptr ? reason : "unknown error";
}

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  throw std::runtime_error(what + " " + file + ": " + openssl_reason());
}

// Offered "http/1.1": take it. Anything else (h2 only): no ALPN, the client decides.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::shared_ptr<ssl::context> load_tls_context(const std::string& cert_file,
                                               const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    throw std::runtime_error("TLS cipher list rejected: " + openssl_reason());
  // Resumption without tickets: a per-context session cache (TLS 1.3 sends a stateful ticket
  // that only names the cached session). A reload starts an empty cache.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, 20'000);
  SSL_CTX_set_timeout(native, 300);
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    fail("cannot load TLS certificate chain", cert_file);
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("cannot load TLS private key", key_file);
  if (SSL_CTX_check_private_key(native) != 1)
    fail("TLS private key does not match the certificate in", cert_file);
  return ctx;
}

TlsContextStore::TlsContextStore(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      current_(load_tls_context(cert_file_, key_file_)) {}

std::shared_ptr<ssl::context> TlsContextStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

bool TlsContextStore::reload() {
  std::shared_ptr<ssl::context> next;
  try {
    next = load_tls_context(cert_file_, key_file_);
  } catch (const std::exception& e) {
    spdlog::error("TLS reload failed, keeping the previous certificate: {}", e.what());
    return false;
  }
  {
    std::lock_guard lock(mu_);
    current_.swap(next);
  }
  spdlog::info("TLS certificate reloaded from {}", cert_file_);
  return true;
}

}  // namespace relay::app
