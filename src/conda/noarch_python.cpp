// noarch: python packages: where their files go in the environment, and their entry points.

#include <cctype>
#include <nlohmann/json.hpp>

#include "conda/installer_internal.hpp"
#include "conda/package_paths.hpp"

namespace de::conda {

namespace fs = std::filesystem;
using json = nlohmann::json;

Result<PythonInfo> python_info_from_record(const PackageRecord& python) {
  std::string_view v = python.version;
  auto dot = v.find('.');
  if (dot == std::string_view::npos)
    return fail(Code::InvalidArgument, "python version '{}' has no minor part", v);
  auto end = v.find_first_not_of("0123456789", dot + 1);
  std::string xy(v.substr(0, end == std::string_view::npos ? v.size() : end));
  PythonInfo info{xy, python.python_site_packages_path};
  if (info.site_packages_path.empty())
    info.site_packages_path = "lib/python" + xy + "/site-packages";
  return info;
}

std::string python_shebang(std::string_view prefix) {
  std::string python = std::string(prefix) + "/bin/python";
  std::string shebang = "#!" + python + "\n";
  if (shebang.size() <= 127) return shebang;
  // Too long for the kernel: let sh find python.
  return "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''\n";
}

std::string python_entry_point_script(std::string_view prefix, std::string_view module,
                                      std::string_view function) {
  std::string_view import_name = function.substr(0, function.find('.'));
  return python_shebang(prefix) +
         fmt::format("# -*- coding: utf-8 -*-\n"
                     "import re\n"
                     "import sys\n"
                     "\n"
                     "from {} import {}\n"
                     "\n"
                     "if __name__ == '__main__':\n"
                     "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
                     "    sys.exit({}())\n",
                     module, import_name, function);
}

namespace detail {

std::string relocate_noarch_python(const std::string& path, const PythonInfo& python) {
  if (path.starts_with("site-packages/")) return python.site_packages_path + path.substr(13);
  if (path.starts_with("python-scripts/")) return "bin" + path.substr(14);
  return path;
}

namespace {

// "name = package.module:object.attr" -> (name, script).
Result<std::pair<std::string, std::string>> entry_point_script(std::string_view prefix,
                                                               std::string_view spec,
                                                               std::string_view what) {
  auto eq = spec.find('=');
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  if (eq == std::string_view::npos)
    return fail(Code::Corruption, "{}: entry point '{}' has no '='", what, spec);
  std::string_view name = trim(spec.substr(0, eq));
  std::string_view target = trim(spec.substr(eq + 1));
  auto colon = target.find(':');
  if (name.empty() || colon == std::string_view::npos || name.find('/') != std::string_view::npos ||
      name == "." || name == "..")
    return fail(Code::Corruption, "{}: entry point '{}' is not 'name = module:function'", what,
                spec);
  std::string_view module = trim(target.substr(0, colon));
  std::string_view func = trim(target.substr(colon + 1));
  return std::pair(std::string(name), python_entry_point_script(prefix, module, func));
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> python_entry_points(
    const PackageDir& pkg, std::string_view prefix, std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  auto link_json = DE_TRY(pkg.read_file("info/link.json", 64 << 20));
  if (!link_json) return out;
  const std::string& text = *link_json;
  json link = json::parse(text, nullptr, false);
  if (link.is_discarded()) return fail(Code::Corruption, "{}: info/link.json is not JSON", what);
  auto noarch = link.find("noarch");
  if (noarch == link.end() || !noarch->is_object()) return out;
  auto eps = noarch->find("entry_points");
  if (eps == noarch->end() || !eps->is_array()) return out;
  for (const auto& ep : *eps) {
    if (!ep.is_string())
      return fail(Code::Corruption, "{}: info/link.json: entry point is not a string", what);
    out.push_back(DE_TRY(entry_point_script(prefix, ep.get<std::string>(), what)));
  }
  return out;
}

}  // namespace detail
}  // namespace de::conda
