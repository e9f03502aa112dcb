// tenant add|list|enable|disable
#include <fmt/core.h>

#include "app/cli_internal.hpp"

namespace relay::app::cli {

void add_tenant_commands(CLI::App& app, Globals& g) {
  auto* tenant = app.add_subcommand("tenant", "Manage tenants (teams, users, CI jobs)");
  tenant->require_subcommand(1);
  auto name = std::make_shared<std::string>();

  auto* add = tenant->add_subcommand("add", "Add a tenant");
  add->add_option("NAME", *name, "Tenant name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  add->callback([&g, name] {
    g.action = [&g, name] {
      auto t = g.open_store()->add_tenant(*name);
      fmt::print("tenant {} added\n", t.name);
      return 0;
    };
  });

  auto* list = tenant->add_subcommand("list", "List tenants");
  list->callback([&g] {
    g.action = [&g] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& t : g.open_store()->list_tenants())
        rows.push_back({t.name, t.enabled ? "yes" : "no", format_utc(t.created_at)});
      print_table({"NAME", "ENABLED", "CREATED"}, rows);
      return 0;
    };
  });

  for (bool enable : {true, false}) {
    auto* cmd = tenant->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Enable a tenant" : "Disable a tenant: its keys stop working");
    cmd->add_option("NAME", *name, "Tenant name")->required();
    cmd->callback([&g, name, enable] {
      g.action = [&g, name, enable] {
        g.open_store()->set_tenant_enabled(*name, enable);
        fmt::print("tenant {} {}\n", *name, enable ? "enabled" : "disabled");
        return 0;
      };
    });
  }
}

}  // namespace relay::app::cli
