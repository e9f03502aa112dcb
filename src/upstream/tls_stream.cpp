#include "upstream/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/ip/address.hpp>

namespace relay::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// One TLS record and a bit: what a single read from the layer below may bring. Copied into
// OpenSSL before anything else runs (TcpStream reads only once readable), so one per io thread
// serves every connection.
std::array<char, std::size_t{17} * 1024>& fill_buffer() {
  thread_local std::array<char, std::size_t{17} * 1024> buffer;
  return buffer;
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

TlsStream::TlsStream(std::unique_ptr<ByteStream> lower, SSL* ssl)
    : lower_(std::move(lower)), ssl_(ssl), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

void TlsStream::fail(int ssl_error, error_code& ec) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;
    return;
  }
  long verify = SSL_get_verify_result(ssl_);
  std::string detail = openssl_errors();
  if (verify != X509_V_OK)
    failure_ =
        std::string("TLS certificate check failed: ") + X509_verify_cert_error_string(verify);
  else
    failure_ = "TLS failed: " + (detail.empty() ? std::string("protocol error") : detail);
  ec = asio::error::connection_aborted;
}

// The bytes stay in a buffer of this call while the write waits for the socket.
asio::awaitable<void> TlsStream::flush(error_code& ec) {
  std::string pending;
  while (std::size_t size = BIO_ctrl_pending(out_)) {
    pending.resize(size);
    int n = BIO_read(out_, pending.data(), static_cast<int>(size));
    if (n <= 0) break;
    co_await lower_->write_all(asio::buffer(pending.data(), static_cast<std::size_t>(n)), ec);
    if (ec) co_return;
  }
}

asio::awaitable<void> TlsStream::fill(error_code& ec) {
  auto& buf = fill_buffer();
  std::size_t n = co_await lower_->read_some(asio::buffer(buf), ec);
  if (ec) co_return;
  BIO_write(in_, buf.data(), static_cast<int>(n));
}

asio::awaitable<void> TlsStream::handshake(error_code& ec) {
  for (;;) {
    int r = SSL_connect(ssl_);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    co_await flush(ec);  // the ClientHello, the Finished, an alert
    if (ec) co_return;
    if (err == SSL_ERROR_NONE) co_return;
    if (err != SSL_ERROR_WANT_READ) {
      fail(err, ec);
      co_return;
    }
    co_await fill(ec);
    if (ec == asio::error::eof) {
      failure_ = "TLS handshake: the peer closed the connection";
      co_return;
    }
    if (ec) co_return;
  }
}

asio::awaitable<std::size_t> TlsStream::read_some(asio::mutable_buffer buf, error_code& ec) {
  for (;;) {
    std::size_t got = 0;
    int r = SSL_read_ex(ssl_, buf.data(), buf.size(), &got);
    if (r == 1) co_return got;
    int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ) {
      fail(err, ec);
      co_return 0;
    }
    co_await flush(ec);  // what reading produced (a key update's answer)
    if (ec) co_return 0;
    co_await fill(ec);
    if (ec) co_return 0;
  }
}

asio::awaitable<void> TlsStream::write_all(asio::const_buffer buf, error_code& ec) {
  std::size_t done = 0;
  while (done < buf.size()) {
    std::size_t n = 0;
    // A memory BIO takes everything: a write never waits for the network here, flush() does.
    int r = SSL_write_ex(ssl_, static_cast<const char*>(buf.data()) + done, buf.size() - done, &n);
    if (r != 1) {
      fail(SSL_get_error(ssl_, r), ec);
      co_return;
    }
    done += n;
  }
  co_await flush(ec);
}

TlsContexts::~TlsContexts() {
  for (auto& [file, ctx] : contexts_) SSL_CTX_free(ctx);
}

SSL* TlsContexts::make_ssl(const std::string& ca_file, const std::string& host, bool alpn_http11,
                           std::string& why) {
  SSL_CTX*& ctx = contexts_[ca_file];
  if (ctx == nullptr) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // OpenSSL's record buffers (about 34 KiB) go back while a connection is idle or a stream
    // quiet, which is most of an open stream's life.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                             : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    if (ok != 1) {
      ERR_clear_error();
      SSL_CTX_free(ctx);
      contexts_.erase(ca_file);
      why = "cannot load the CA file " + ca_file;
      return nullptr;
    }
  }
  SSL* ssl = SSL_new(ctx);
  boost::system::error_code literal_ec;
  asio::ip::make_address(host, literal_ec);
  if (!literal_ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  if (alpn_http11) {
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn);
  }
  return ssl;
}

}  // namespace relay::upstream
