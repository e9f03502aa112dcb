// The admin API without a socket (src/admin/admin_api.hpp) on a SQLite data dir: tokens and
// 401s, the routes against docs/admin-api.openapi.json, each resource, the errors, and that no
// secret comes back or reaches the audit log.
#include "admin/admin_api.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "admin/admin_fields.hpp"
#include "admin/admin_json.hpp"
#include "admin/openapi_doc.hpp"
#include "app/config.hpp"
#include "crypto/relay_key.hpp"
#include "store/store_factory.hpp"
#include "test_support.hpp"

namespace relay::admin {
namespace {

using test::ScopedEnv;

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& body) {
  return p.parse(simdjson::padded_string(body)).value();
}

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.store.data_dir = dir_ / "data";
    config_ = store::open_config_store(cfg_);
    admin_ = store::open_admin_store(cfg_);
    token_ = crypto::generate_token("cra_");
    admin_->add_admin_token("ops", crypto::sha256_hex(token_), token_.substr(token_.size() - 4));
  }

  ApiResponse call(const std::string& method, const std::string& target,
                   const std::string& body = "", const std::optional<std::string>& token = {}) {
    ApiRequest r;
    r.method = method;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.authorization = "Bearer " + token.value_or(token_);
    r.body = body;
    return api_.handle(r);
  }

  std::string code_of(const ApiResponse& r) {
    simdjson::dom::parser p;
    std::string_view code;
    if (parse(p, r.body)["error"]["code"].get(code)) return "(no error code in " + r.body + ")";
    return std::string(code);
  }

  std::string audit_text() {
    std::string all;
    for (const auto& e : admin_->list_audit(0, 1000))
      all += e.actor + " " + e.action + " " + e.target + " " + e.outcome + " " + e.details + "\n";
    return all;
  }

  ScopedEnv no_master_{"CODEX_RELAY_MASTER_KEY", std::nullopt};
  test::TempDir dir_;
  app::Config cfg_;
  std::unique_ptr<store::ConfigStore> config_;
  std::unique_ptr<store::AdminStore> admin_;
  std::string token_;
  AdminApi api_{{[this]() -> store::ConfigStore& { return *config_; },
                 [this]() -> store::AdminStore& { return *admin_; }},
                std::string(openapi_document())};
};

TEST(AdminOpenApi, DocumentListsExactlyTheRoutesTheRouterServes) {
  simdjson::dom::parser p;
  simdjson::dom::element doc = p.parse(simdjson::padded_string(openapi_document())).value();
  EXPECT_EQ(std::string_view(doc["openapi"]).substr(0, 2), "3.");
  std::set<RouteKey> documented;
  simdjson::dom::object paths = doc["paths"].get_object().value();
  for (auto [path, item] : paths) {
    simdjson::dom::object ops = item.get_object().value();
    for (auto [method, op] : ops) {
      if (method == "parameters") continue;
      std::string m(method);
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert({m, std::string(path)});
    }
  }
  std::set<RouteKey> served;
  for (const auto& r : AdminApi::routes()) served.insert(r);
  EXPECT_EQ(served.size(), AdminApi::routes().size()) << "a route is listed twice";
  std::string diff;
  for (const auto& r : served)
    if (!documented.contains(r))
      diff += "served, not documented: " + r.method + " " + r.path + "\n";
  for (const auto& r : documented)
    if (!served.contains(r)) diff += "documented, not served: " + r.method + " " + r.path + "\n";
  EXPECT_TRUE(diff.empty()) << diff;
}

TEST_F(AdminApiTest, MissingWrongMalformedAndRevokedTokensGet401) {
  ApiRequest none;
  none.method = "GET";
  none.path = "/admin/v1/tenants";
  ApiResponse r = api_.handle(none);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code_of(r), "invalid_admin_token");
  EXPECT_EQ(call("GET", "/admin/v1/tenants", "", crypto::generate_token("cra_")).status, 401);
  EXPECT_EQ(call("GET", "/admin/v1/tenants", "", "cra_short").status, 401);
  EXPECT_EQ(call("GET", "/admin/v1/tenants", "", crypto::generate_token("crk_")).status, 401);
  // Every path, known or not, needs the token first.
  EXPECT_EQ(call("GET", "/admin/v1/nothing", "", "x").status, 401);
  EXPECT_EQ(call("GET", "/admin/v1/tenants").status, 200);

  admin_->revoke_admin_token("ops");
  r = call("GET", "/admin/v1/tenants");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code_of(r), "invalid_admin_token");
}

TEST_F(AdminApiTest, TenantsAreCreatedReadPatchedAndAudited) {
  ApiResponse r = call("POST", "/admin/v1/tenants",
                       R"({"name":"team-a","limits":{"rps":5,"daily_tokens":1000}})");
  ASSERT_EQ(r.status, 201) << r.body;
  simdjson::dom::parser p;
  auto t = parse(p, r.body);
  EXPECT_EQ(std::string_view(t["name"]), "team-a");
  EXPECT_EQ(std::int64_t(t["limits"]["rps"]), 5);
  EXPECT_EQ(std::int64_t(t["limits"]["daily_tokens"]), 1000);
  EXPECT_TRUE(bool(t["enabled"]));

  EXPECT_EQ(code_of(call("POST", "/admin/v1/tenants", R"({"name":"team-a"})")), "already_exists");
  EXPECT_EQ(call("POST", "/admin/v1/tenants", R"({"name":"team-a"})").status, 409);
  r = call("PATCH", "/admin/v1/tenants/team-a", R"({"enabled":false,"limits":{"rps":0}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto t2 = parse(p, r.body);
  EXPECT_FALSE(bool(t2["enabled"]));
  EXPECT_EQ(std::int64_t(t2["limits"]["rps"]), 0);
  EXPECT_EQ(code_of(call("GET", "/admin/v1/tenants/nobody")), "not_found");
  EXPECT_EQ(config_->list_tenants().at(0).enabled, false);

  const std::string audit = audit_text();
  EXPECT_NE(audit.find(R"(token:ops tenant.create team-a ok {})"), std::string::npos) << audit;
  EXPECT_NE(
      audit.find(R"(token:ops tenant.limits team-a ok {"limits":{"rps":5,"daily_tokens":1000}})"),
      std::string::npos)
      << audit;
  EXPECT_NE(audit.find("token:ops tenant.create team-a already_exists"), std::string::npos);
  EXPECT_NE(audit.find("token:ops tenant.disable team-a ok"), std::string::npos);
}

TEST_F(AdminApiTest, KeyIsReturnedOnceNeverListedNorAudited) {
  ASSERT_EQ(call("POST", "/admin/v1/tenants", R"({"name":"team-a"})").status, 201);
  ApiResponse r = call("POST", "/admin/v1/keys", R"({"tenant":"team-a","limits":{"rpm":7}})");
  ASSERT_EQ(r.status, 201) << r.body;
  simdjson::dom::parser p;
  auto k = parse(p, r.body);
  const std::string key{std::string_view(k["key"])};
  const std::string id{std::string_view(k["id"])};
  EXPECT_TRUE(crypto::token_well_formed(key, "crk_")) << key;
  EXPECT_EQ(std::int64_t(k["limits"]["rpm"]), 7);
  EXPECT_EQ(config_->load_snapshot()->keys_by_hash.count(crypto::sha256_hex(key)), 1u);

  ApiResponse list = call("GET", "/admin/v1/keys?tenant=team-a");
  EXPECT_EQ(list.body.find(key), std::string::npos);
  EXPECT_NE(list.body.find(id), std::string::npos);
  EXPECT_EQ(call("GET", "/admin/v1/keys?tenant=other").body.find(id), std::string::npos);

  r = call("DELETE", "/admin/v1/keys/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(parse(p, r.body)["status"]), "revoked");
  EXPECT_EQ(code_of(call("POST", "/admin/v1/keys", R"({"tenant":"nobody"})")), "not_found");

  const std::string audit = audit_text();
  EXPECT_NE(audit.find("token:ops key.create " + id + " ok"), std::string::npos) << audit;
  EXPECT_NE(audit.find("token:ops key.revoke " + id + " ok"), std::string::npos) << audit;
  EXPECT_NE(audit.find("token:ops key.create nobody not_found"), std::string::npos) << audit;
  EXPECT_EQ(audit.find(key), std::string::npos);
  EXPECT_EQ(audit.find(crypto::sha256_hex(key)), std::string::npos);
  EXPECT_EQ(audit.find(key.substr(0, 12)), std::string::npos);
}

TEST_F(AdminApiTest, AccountCredentialNeverComesBackBeyondItsLast4) {
  const std::string cred = "sk-test-credential-Zq81";
  ApiResponse r =
      call("POST", "/admin/v1/accounts",
           R"({"name":"openai","base_url":"https://api.example.com/v1/","credential":")" + cred +
               R"(","models":["gpt-5.5"],"weight":3})");
  ASSERT_EQ(r.status, 201) << r.body;
  for (const auto& body : {r.body, call("GET", "/admin/v1/accounts").body,
                           call("GET", "/admin/v1/accounts/openai").body}) {
    EXPECT_EQ(body.find(cred.substr(0, cred.size() - 4)), std::string::npos) << body;
    EXPECT_NE(body.find(R"("credential_last4":"Zq81")"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("base_url":"https://api.example.com/v1")"), std::string::npos) << body;
  }
  r = call("PATCH", "/admin/v1/accounts/openai", R"({"enabled":false,"max_concurrency":4})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("enabled":false)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("max_concurrency":4)"), std::string::npos) << r.body;
  EXPECT_EQ(code_of(call("PATCH", "/admin/v1/accounts/openai", R"({"weight":0})")),
            "invalid_value");
  EXPECT_EQ(code_of(call("POST", "/admin/v1/accounts",
                         R"({"name":"x","base_url":"ftp://x","credential":"sk-abc"})")),
            "invalid_value");
  const std::string audit = audit_text();
  EXPECT_NE(audit.find("token:ops account.create openai ok"), std::string::npos) << audit;
  EXPECT_NE(audit.find(R"(account.update openai ok {"max_concurrency":4})"), std::string::npos)
      << audit;
  EXPECT_EQ(audit.find("Zq81"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("sk-test"), std::string::npos) << audit;
}

TEST_F(AdminApiTest, EgressPasswordIsMaskedAndNotAudited) {
  ASSERT_EQ(call("POST", "/admin/v1/accounts",
                 R"({"name":"a","base_url":"http://x","credential":"sk-aaaaaaaaaaaaaaaa"})")
                .status,
            201);
  ApiResponse r =
      call("POST", "/admin/v1/egresses",
           R"({"name":"eu-1","url":"http://user:hunter2pw@10.0.0.1:3128","account":"a"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.find("hunter2pw"), std::string::npos) << r.body;
  EXPECT_EQ(call("GET", "/admin/v1/egresses").body.find("hunter2pw"), std::string::npos);
  EXPECT_NE(call("GET", "/admin/v1/egresses").body.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(call("DELETE", "/admin/v1/egresses/eu-1").status, 200);
  EXPECT_EQ(code_of(call("DELETE", "/admin/v1/egresses/eu-1")), "not_found");
  const std::string audit = audit_text();
  EXPECT_NE(audit.find("egress.create eu-1 ok"), std::string::npos) << audit;
  EXPECT_NE(audit.find("egress.delete eu-1 ok"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("hunter2pw"), std::string::npos) << audit;
}

TEST_F(AdminApiTest, BadRequestsGetTheErrorModelAndChangeNothing) {
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {"POST", "/admin/v1/tenants", "{not json", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", "[]", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", R"({"name":"a","colour":"red"})", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", R"({"name":"a","limits":{"rps":-1}})", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", R"({"name":"a","limits":{"rps":1.5}})", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", R"({"name":"bad name"})", 400, "invalid_value"},
      {"POST", "/admin/v1/tenants", R"({})", 400, "invalid_value"},
      {"PATCH", "/admin/v1/tenants/a", R"({})", 400, "invalid_value"},
      {"PUT", "/admin/v1/tenants", "", 405, "method_not_allowed"},
      {"GET", "/admin/v1/nothing", "", 404, "unknown_url"},
      {"GET", "/admin/v1/tenants/a/b", "", 404, "unknown_url"},
      {"GET", "/admin/v1/audit?limit=0", "", 400, "invalid_value"},
      {"GET", "/admin/v1/audit?since=yesterday", "", 400, "invalid_value"},
  };
  for (const Case& c : cases) {
    ApiResponse r = call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << ": " << r.body;
    EXPECT_EQ(code_of(r), c.code) << c.method << " " << c.path << " " << c.body;
  }
  EXPECT_TRUE(config_->list_tenants().empty());
  ApiResponse r = call("PUT", "/admin/v1/tenants");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "GET, POST");
}

TEST_F(AdminApiTest, AuditListFiltersBySinceAndLimit) {
  for (const char* n : {"a", "b", "c"})
    ASSERT_EQ(call("POST", "/admin/v1/tenants", std::string(R"({"name":")") + n + "\"}").status,
              201);
  simdjson::dom::parser p;
  auto all = parse(p, call("GET", "/admin/v1/audit").body)["data"].get_array().value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(std::string_view(all.at(0)["target"]), "c");  // newest first
  EXPECT_EQ(std::string_view(all.at(0)["actor"]), "token:ops");
  EXPECT_EQ(std::string_view(all.at(0)["action"]), "tenant.create");
  EXPECT_GT(std::int64_t(all.at(0)["at_ms"]), 0);
  auto two = parse(p, call("GET", "/admin/v1/audit?limit=2").body)["data"].get_array().value();
  EXPECT_EQ(two.size(), 2u);
  auto none =
      parse(p, call("GET", "/admin/v1/audit?since=4102444800000").body)["data"].get_array().value();
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(call("GET", "/admin/v1/openapi.json").body, std::string(openapi_document()));
}

TEST(AdminJson, ErrorsNameTheFieldNeverTheValue) {
  auto a = parse_account_create(R"({"name":"x","base_url":"http://x","credential":42})");
  ASSERT_FALSE(a.value);
  EXPECT_NE(a.error.find("credential"), std::string::npos) << a.error;
  auto b = parse_account_create(
      R"({"name":"x","base_url":"http://x","credential":"sk-secret-value","weight":"sk-other"})");
  ASSERT_FALSE(b.value);
  EXPECT_EQ(b.error.find("sk-"), std::string::npos) << b.error;
  auto c = parse_account_create(R"({"name":"x","base_url":"http://x","credential":"  "})");
  EXPECT_FALSE(c.value);
  auto ok = parse_account_create(
      R"({"name":"x","base_url":"http://x","credential":"sk-1","models":[" m1 "],"max_concurrency":0})");
  ASSERT_TRUE(ok.value) << ok.error;
  EXPECT_EQ(ok.value->account.models, std::vector<std::string>{"m1"});
  auto k =
      parse_key_create(R"({"tenant":"t","expires_at":1700000000,"limits":{"monthly_tokens":9}})");
  ASSERT_TRUE(k.value) << k.error;
  EXPECT_EQ(*k.value->limits.monthly_tokens, 9);
  EXPECT_FALSE(parse_key_patch(R"({"limits":{}})").value);
  EXPECT_FALSE(parse_egress_create(R"({"name":"e","url":"http://p:1"})").value);
}

TEST(AdminFields, SinceTakesMillisDaysAndAges) {
  EXPECT_EQ(parse_since("1700000000000", 0), 1700000000000);
  EXPECT_EQ(parse_since("2024-01-02", 0), 1704153600000);
  EXPECT_EQ(parse_since("2h", 10'000'000), 10'000'000 - 7'200'000);
  EXPECT_EQ(parse_since("3d", 300'000'000), 300'000'000 - 3 * 86'400'000);
  EXPECT_FALSE(parse_since("2024-02-30", 0));
  EXPECT_FALSE(parse_since("yesterday", 0));
  EXPECT_FALSE(parse_since("", 0));
  EXPECT_FALSE(parse_since("-5", 0));
}

}  // namespace
}  // namespace relay::admin
