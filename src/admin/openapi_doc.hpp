#pragma once
// docs/admin-api.openapi.json, compiled in (CMakeLists.txt generates admin_openapi.cpp from
// src/admin/openapi_doc.cpp.in), so the served document is the one in the repository.
#include <string_view>

namespace relay::admin {

std::string_view openapi_document();

}  // namespace relay::admin
