#include "docker_envs/registry/auth.hpp"

#include <cctype>
#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/subprocess.hpp"
#include "docker_envs/registry/reference.hpp"

namespace de::registry {
namespace {

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "https://host:port/v1/" -> "host:port"
std::string normalise_config_key(std::string_view key) {
  if (key.starts_with("https://"))
    key.remove_prefix(8);
  else if (key.starts_with("http://"))
    key.remove_prefix(7);
  if (auto slash = key.find('/'); slash != std::string_view::npos) key = key.substr(0, slash);
  return std::string(key);
}

bool is_docker_hub_alias(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

}  // namespace

Result<std::vector<Challenge>> parse_challenges(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < h.size() && is_tchar(h[i])) ++i;
    return h.substr(start, i - start);
  };
  auto bad = [&](std::string_view why) {
    return fail(Code::InvalidArgument, "malformed WWW-Authenticate header at offset {}: {}", i,
                why);
  };
  while (true) {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
    if (i >= h.size()) break;
    std::string_view scheme = token();
    if (scheme.empty()) return bad("expected an auth scheme");
    Challenge c{lower(scheme), {}};
    while (true) {
      skip_ws();
      while (i < h.size() && h[i] == ',') {
        ++i;
        skip_ws();
      }
      if (i >= h.size()) break;
      size_t saved = i;
      std::string_view key = token();
      skip_ws();
      if (key.empty() || i >= h.size() || h[i] != '=') {
        if (key.empty()) return bad("expected a parameter name");
        i = saved;  // a token not followed by '=': the next challenge's scheme
        break;
      }
      ++i;
      skip_ws();
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        bool closed = false;
        while (i < h.size()) {
          char ch = h[i++];
          if (ch == '\\' && i < h.size()) {
            value.push_back(h[i++]);
          } else if (ch == '"') {
            closed = true;
            break;
          } else {
            value.push_back(ch);
          }
        }
        if (!closed) return bad("unterminated quoted string");
      } else {
        value = std::string(token());
        // token68 padding ("abc==") reads as key "abc", '=' and an empty value: tolerate it.
        while (i < h.size() && h[i] == '=') {
          value.push_back('=');
          ++i;
        }
      }
      c.params[lower(key)] = std::move(value);
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) return fail(Code::InvalidArgument, "empty WWW-Authenticate header");
  return out;
}

Result<Credentials> Credentials::parse_user_pass(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail(Code::InvalidArgument, "credentials must be given as USER:PASSWORD");
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)), {}};
}

Result<DockerConfig> DockerConfig::parse(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::InvalidArgument, "docker config is not a JSON object");
  DockerConfig config;
  if (auto it = j.find("auths"); it != j.end() && it->is_object()) {
    for (auto& [key, entry] : it->items()) {
      if (!entry.is_object()) continue;
      Credentials creds;
      if (auto a = entry.find("auth");
          a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
        auto decoded = base64_decode(a->get<std::string>());
        if (!decoded)
          return fail(Code::InvalidArgument, "docker config: the auth value for '{}' is not base64",
                      key);
        auto colon = decoded->find(':');
        if (colon == std::string::npos)
          return fail(Code::InvalidArgument,
                      "docker config: the auth value for '{}' is not base64 of USER:PASSWORD", key);
        creds.username = decoded->substr(0, colon);
        creds.password = decoded->substr(colon + 1);
      } else {
        if (auto u = entry.find("username"); u != entry.end() && u->is_string())
          creds.username = *u;
        if (auto p = entry.find("password"); p != entry.end() && p->is_string())
          creds.password = *p;
      }
      if (auto t = entry.find("identitytoken"); t != entry.end() && t->is_string())
        creds.identity_token = *t;
      config.auths[key] = std::move(creds);
    }
  }
  if (auto it = j.find("credsStore"); it != j.end() && it->is_string()) config.creds_store = *it;
  if (auto it = j.find("credHelpers"); it != j.end() && it->is_object())
    for (auto& [key, helper] : it->items())
      if (helper.is_string()) config.cred_helpers[key] = helper.get<std::string>();
  return config;
}

Result<DockerConfig> DockerConfig::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return DockerConfig{};
  std::string text = DE_TRY(read_file(path, 4 << 20));
  return DE_TRY_CTX(parse(text), "reading " + path.string());
}

Result<std::optional<Credentials>> run_credential_helper(const std::string& helper,
                                                         const std::string& server) {
  std::string program = "docker-credential-" + helper;
  // The server name on stdin; a helper that exits without reading it is answered by its output
  // and exit status like any other (run_process keeps its SIGPIPE from killing us).
  auto run = run_process(program, {"docker-credential", "get"}, {.input = server + "\n"});
  if (!run)
    return fail(Code::Auth, "credential helper {} could not be run: {}", program,
                run.error().message());
  const std::string& output = run->out;
  if (!run->succeeded()) {
    if (output.find("credentials not found") != std::string::npos ||
        run->err.find("credentials not found") != std::string::npos)
      return std::nullopt;
    // The helper's own message (first line) says what went wrong; helpers do not echo secrets
    // in errors, but keep it short anyway.
    const std::string& said = run->err.empty() ? output : run->err;
    std::string first = said.substr(0, std::min(said.find('\n'), size_t{200}));
    if (first.empty())
      first = run->signal ? fmt::format("killed by signal {}", run->signal)
                          : fmt::format("exit status {}", run->exit_code);
    return fail(Code::Auth, "credential helper {} failed for {}: {}", program, server, first);
  }
  nlohmann::json j = nlohmann::json::parse(output, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::Auth, "credential helper {} printed something that is not JSON", program);
  Credentials creds;
  auto text = [&](const char* key) {  // json::value() would throw on a non-string field
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string user = text("Username");
  std::string secret = text("Secret");
  if (user == "<token>")
    creds.identity_token = secret;
  else {
    creds.username = user;
    creds.password = secret;
  }
  if (creds.empty()) return std::nullopt;
  return creds;
}

Result<std::optional<Credentials>> lookup_credentials(const DockerConfig& config,
                                                      std::string_view domain,
                                                      const CredentialHelper& helper) {
  bool hub = is_docker_hub_alias(domain);
  std::string server = hub ? std::string(kDockerHubConfigKey) : std::string(domain);
  std::string helper_name = config.creds_store;
  for (auto& [key, name] : config.cred_helpers) {
    std::string host = normalise_config_key(key);
    if (host == domain || (hub && is_docker_hub_alias(host))) helper_name = name;
  }
  if (!helper_name.empty()) {
    auto found = helper(helper_name, server);
    if (found && *found) return found;
    if (!found) log::warn("{}; trying without it", found.error().to_string());
  }
  for (auto& [key, creds] : config.auths) {
    std::string host = normalise_config_key(key);
    if ((host == domain || (hub && is_docker_hub_alias(host))) && !creds.empty()) return creds;
  }
  return std::nullopt;
}

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(data[k]));
  };
  for (; i + 2 < data.size(); i += 3) {
    std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (size_t rest = data.size() - i; rest) {
    std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    int v = value(text[i]);
    if (v < 0) return fail(Code::InvalidArgument, "invalid base64");
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  for (; i < text.size(); ++i)
    if (text[i] != '=') return fail(Code::InvalidArgument, "invalid base64");
  return out;
}

}  // namespace de::registry
