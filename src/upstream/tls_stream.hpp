#pragma once
// TLS on top of any ByteStream, with OpenSSL reading and writing memory BIOs that this layer
// fills from and drains to the layer below. asio::ssl::stream would need the lower layer's type
// at compile time; this way TLS to a provider can run inside TLS to an https egress proxy.
#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>

#include "upstream/byte_stream.hpp"

namespace relay::upstream {

class TlsStream final : public ByteStream {
 public:
  // Owns `ssl` (from TlsContexts::make_ssl) and the layer below.
  TlsStream(std::unique_ptr<ByteStream> lower, SSL* ssl);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  boost::asio::awaitable<void> handshake(boost::system::error_code& ec);
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buf,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> write_all(boost::asio::const_buffer buf,
                                         boost::system::error_code& ec) override;
  boost::asio::ip::tcp::socket& socket() override { return lower_->socket(); }
  std::string failure() const override { return failure_; }

 private:
  boost::asio::awaitable<void> flush(boost::system::error_code& ec);
  boost::asio::awaitable<void> fill(boost::system::error_code& ec);
  void fail(int ssl_error, boost::system::error_code& ec);

  std::unique_ptr<ByteStream> lower_;
  SSL* ssl_;
  BIO* in_;   // network -> OpenSSL; owned by ssl_
  BIO* out_;  // OpenSSL -> network; owned by ssl_
  std::string failure_;
};

// One SSL_CTX per CA file, made on first use and kept (per io thread, like the connections).
class TlsContexts {
 public:
  TlsContexts() = default;
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // A client SSL for `host` (SNI for a name; the certificate must match the name or IP
  // literal), verifying against `ca_file` (empty: the system's CAs). `alpn_http11`: offer
  // http/1.1 only, so that a provider never answers in HTTP/2. nullptr, and `why`, when the CA
  // file cannot be loaded.
  SSL* make_ssl(const std::string& ca_file, const std::string& host, bool alpn_http11,
                std::string& why);

 private:
  std::map<std::string, SSL_CTX*> contexts_;
};

}  // namespace relay::upstream
