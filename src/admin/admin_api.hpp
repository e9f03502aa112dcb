#pragma once
// The admin HTTP API (/admin/v1/*, docs/admin-api.md) without the transport: authentication by
// admin token, routing, the JSON bodies, the store calls and the errors, so that its tests need
// no socket. src/app/admin.cpp feeds it from the admin listener, on a thread of its own (the
// store calls block).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/errors.hpp"
#include "store/admin_store.hpp"
#include "store/config_store.hpp"

namespace relay::admin {

struct ApiRequest {
  std::string method;
  std::string path;           // without the query
  std::string query;          // after '?', raw
  std::string authorization;  // the header's value; "" when absent
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string body;                                          // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // besides content-type
};

// The name of the admin token that `authorization` ("Bearer <token>") presents, or nullopt
// (absent, malformed, unknown or revoked). Compares the stored hash in constant time.
std::optional<std::string> authenticate(store::AdminTokens& tokens, std::string_view authorization);

// An error response in the provider's format, with the code's status.
ApiResponse error_response(ErrorCode code, std::string_view message = {});

struct RouteKey {
  std::string method;  // GET, POST, PATCH, DELETE
  std::string path;    // /admin/v1/tenants/{name}
  bool operator<(const RouteKey& o) const {
    return std::tie(path, method) < std::tie(o.path, o.method);
  }
  bool operator==(const RouteKey& o) const = default;
};

class AdminApi {
 public:
  // Each opens its store on first use (on the calling thread) and keeps it; a throw is
  // answered 503 and retried on the next request.
  struct Stores {
    std::function<store::ConfigStore&()> config;
    std::function<store::AdminStore&()> admin;
  };
  AdminApi(Stores stores, std::string openapi_json);

  ApiResponse handle(const ApiRequest& request);

  // Every (method, path template) the router serves; docs/admin-api.openapi.json must match.
  static std::vector<RouteKey> routes();

 private:
  struct Call;
  struct Route;
  static const std::vector<Route>& table();
  ApiResponse route(const ApiRequest& request, const std::string& actor);

  ApiResponse list_tenants(const Call& c);
  ApiResponse create_tenant(const Call& c);
  ApiResponse get_tenant(const Call& c);
  ApiResponse patch_tenant(const Call& c);
  ApiResponse list_keys(const Call& c);
  ApiResponse create_key(const Call& c);
  ApiResponse get_key(const Call& c);
  ApiResponse patch_key(const Call& c);
  ApiResponse revoke_key(const Call& c);
  ApiResponse list_accounts(const Call& c);
  ApiResponse create_account(const Call& c);
  ApiResponse get_account(const Call& c);
  ApiResponse patch_account(const Call& c);
  ApiResponse list_egresses(const Call& c);
  ApiResponse create_egress(const Call& c);
  ApiResponse delete_egress(const Call& c);
  ApiResponse list_audit(const Call& c);
  ApiResponse openapi(const Call& c);

  Stores stores_;
  std::string openapi_;
};

}  // namespace relay::admin
