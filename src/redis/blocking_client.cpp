#include "redis/blocking_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <string_view>

namespace relay::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<Reply> run_one(Connection& conn, std::vector<std::string> argv) {
  std::vector<std::string_view> views(argv.begin(), argv.end());
  co_return co_await conn.command(views);
}

}  // namespace

BlockingClient::BlockingClient(Endpoint endpoint, ConnectionOptions opts)
    : endpoint_(std::move(endpoint)), opts_(std::move(opts)) {
  conn_ = std::make_unique<Connection>(io_.get_executor(), endpoint_, opts_);
  conn_->start();
}

BlockingClient::~BlockingClient() {
  // The connection's handlers belong to io_: free it first, then let io_ drop what is queued.
  conn_.reset();
  io_.restart();
  io_.poll();
}

void BlockingClient::await_connected() {
  const auto deadline = std::chrono::steady_clock::now() + opts_.connect_timeout;
  while (!conn_->connected() && std::chrono::steady_clock::now() < deadline) {
    io_.restart();
    io_.run_one_for(10ms);
  }
  if (!conn_->connected()) throw Unavailable("redis at " + endpoint_.where() + " is unreachable");
}

Reply BlockingClient::command(const std::vector<std::string>& argv) {
  return pipeline({argv}).front();
}

std::vector<Reply> BlockingClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  await_connected();
  std::vector<std::future<Reply>> pending;
  pending.reserve(commands.size());
  // Spawned in order, each sends its command before its first suspension, so the commands reach
  // Redis in order (MULTI ... EXEC relies on it).
  for (const auto& argv : commands)
    pending.push_back(asio::co_spawn(io_, run_one(*conn_, argv), asio::use_future));
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (auto& f : pending) {
    while (f.wait_for(0s) != std::future_status::ready) {
      io_.restart();
      io_.run_one_for(10ms);
    }
    out.push_back(f.get());  // rethrows Unavailable
  }
  return out;
}

}  // namespace relay::redis
