#pragma once
// Phases 5 and 6 with failover: route to an account, forward, and if the attempt fails before
// anything reached the client (connect error, timeout, 429, 5xx, a credential failure, or a
// Responses stream that fails before its first output) go back to route and try another
// account, within pool.max_attempts and pool.attempt_deadline_ms. The body is replayed as
// received. Once an attempt is committed nothing is retried.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "app/config.hpp"
#include "http/message.hpp"
#include "http/response_writer.hpp"
#include "pool/account_pool.hpp"
#include "pool/egress_pool.hpp"
#include "relay/context.hpp"
#include "sse/stream_tap.hpp"
#include "upstream/client.hpp"
#include "upstream/transfer.hpp"

namespace relay {

// The attempt the relay committed to: its transfer (response head ready), the account lease,
// and what was read ahead of the commit, which goes to the client first.
struct Committed {
  std::unique_ptr<upstream::Transfer> transfer;
  pool::Lease lease;
  sse::StreamTap tap;  // has seen `held`
  std::string held;
  std::chrono::steady_clock::time_point started;  // of this attempt
  bool recorded = false;                          // its outcome already went to the pool
};

struct ForwardDeps {
  const app::Config& cfg;
  pool::AccountPool& pool;
  pool::EgressPool& egresses;
  upstream::Client& upstreams;
};

// nullopt: the request is finished already (an error was sent, or the client left);
// ctx says which.
boost::asio::awaitable<std::optional<Committed>> route_and_forward(RequestContext& ctx,
                                                                   const http::Request& req,
                                                                   http::ResponseWriter& out,
                                                                   ForwardDeps deps);

// The conversation key for affinity: the session-id header, else prompt_cache_key.
std::string affinity_key(const http::Request& req, const RequestContext& ctx);

}  // namespace relay
