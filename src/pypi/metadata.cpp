#include "docker_envs/pypi/metadata.hpp"

#include <algorithm>

#include "pypi/text.hpp"

namespace de::pypi {

namespace {

struct Field {
  std::string name;  // lower case
  std::string value;
  std::size_t line = 0;  // 1-based line of the field name
};

// The header fields, continuation lines joined with "\n".
std::vector<Field> header_fields(std::string_view text) {
  std::vector<Field> fields;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) break;  // the description follows
    if (l.front() == ' ' || l.front() == '\t') {
      if (!fields.empty()) {
        fields.back().value += '\n';
        fields.back().value += trim(l);
      }
      continue;
    }
    std::size_t colon = l.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: ignored, as email parsers do
    fields.push_back(Field{to_lower(trim(l.substr(0, colon))), std::string(trim(l.substr(colon + 1))),
                           line});
  }
  return fields;
}

}  // namespace

Result<CoreMetadata> CoreMetadata::parse(std::string_view text, std::string_view source) {
  if (text.size() > (std::size_t{16} << 20))
    return fail(Code::InvalidArgument, "{}: larger than 16 MiB", source);
  CoreMetadata m;
  bool has_name = false;
  bool has_version = false;
  for (auto& f : header_fields(text)) {
    auto where = [&] { return fmt::format("{} line {}", source, f.line); };
    if (f.name == "metadata-version") {
      m.metadata_version = f.value;
    } else if (f.name == "name") {
      if (!is_valid_name(f.value))
        return fail(Code::InvalidArgument, "{}: invalid distribution name '{}'", where(), f.value);
      m.name = f.value;
      has_name = true;
    } else if (f.name == "version") {
      m.version = DE_TRY_CTX(Version::parse(f.value), where());
      has_version = true;
    } else if (f.name == "requires-dist") {
      m.requires_dist.push_back(DE_TRY_CTX(Requirement::parse(f.value), where()));
    } else if (f.name == "requires-python") {
      m.requires_python = DE_TRY_CTX(SpecifierSet::parse(f.value), where());
    } else if (f.name == "provides-extra") {
      std::string extra = normalize_name(f.value);
      if (std::find(m.provides_extra.begin(), m.provides_extra.end(), extra) ==
          m.provides_extra.end())
        m.provides_extra.push_back(std::move(extra));
    }
  }
  if (!has_name) return fail(Code::InvalidArgument, "{}: no Name field", source);
  if (!has_version) return fail(Code::InvalidArgument, "{}: no Version field", source);
  return m;
}

}  // namespace de::pypi
