#pragma once
// The client listener's TLS settings: a certificate chain and key loaded into an OpenSSL context
// with modern defaults, replaceable at run time (SIGHUP) without touching open connections.
#include <memory>
#include <mutex>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace relay::app {

// TLS 1.2+ (AEAD ECDHE suites only for 1.2), no compression, no renegotiation, no session
// tickets (resumption through the in-memory session cache only, so no ticket key to rotate),
// ALPN "http/1.1". Throws std::runtime_error naming the file that failed, never its contents.
std::shared_ptr<boost::asio::ssl::context> load_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

// The context new connections use. Each connection keeps the one it started with.
class TlsContextStore {
 public:
  TlsContextStore(std::string cert_file, std::string key_file);  // loads now; throws like load
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Loads the files again; on failure keeps the old context, logs an error and returns false.
  bool reload();

 private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace relay::app
