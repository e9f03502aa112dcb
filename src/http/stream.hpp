#pragma once
// The client connection as one stream type for plain TCP and TLS, chosen at run time, so the
// session, the writer and Beast's parser are compiled once (not once per stream type). The
// plain path hands the caller's handler straight to the socket, as before; the TLS path erases
// it (recycled allocation) and runs the ssl::stream operations compiled in stream.cpp only.
#include <array>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace relay::http {

class Stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using IoHandler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  // Up to four buffers of a write; TLS copies them into one record (asio linearises up to 8 KiB).
  struct BufferList {
    std::array<boost::asio::const_buffer, 4> items{};
    std::size_t count = 0;
    const boost::asio::const_buffer* begin() const { return items.data(); }
    const boost::asio::const_buffer* end() const { return items.data() + count; }
  };

  // With a context the stream speaks TLS; the connection keeps `context` alive even after a
  // reload replaced it. Without one it is plain TCP.
  Stream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  // The TCP socket under TLS too: deadlines cancel it, the disconnect watch polls it.
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool is_tls() const { return tls_ != nullptr; }

  // The server side of the TLS handshake; plain streams succeed at once.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // The ALPN protocol the client and the relay agreed on ("" if none or plain).
  std::string_view alpn() const;

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (!tls_) return socket_.async_read_some(b, std::move(handler));
          tls_read(first_buffer(b), IoHandler(std::move(handler)));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (!tls_) return socket_.async_write_some(b, std::move(handler));
          tls_write(to_list(b), IoHandler(std::move(handler)));
        },
        token, buffers);
  }

 private:
  struct Tls;

  template <class Seq>
  static boost::asio::mutable_buffer first_buffer(const Seq& seq) {
    for (auto it = boost::asio::buffer_sequence_begin(seq);
         it != boost::asio::buffer_sequence_end(seq); ++it)
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) return b;
    return {};
  }
  template <class Seq>
  static BufferList to_list(const Seq& seq) {
    BufferList list;
    for (auto it = boost::asio::buffer_sequence_begin(seq);
         it != boost::asio::buffer_sequence_end(seq) && list.count < list.items.size(); ++it)
      if (boost::asio::const_buffer b(*it); b.size() > 0) list.items[list.count++] = b;
    return list;
  }

  void tls_read(boost::asio::mutable_buffer buffer, IoHandler handler);
  void tls_write(const BufferList& buffers, IoHandler handler);

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace relay::http
