#include "docker_envs/oci/filesystem.hpp"

#include <ctime>
#include <map>

namespace de::oci {
namespace {

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dirname_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// Removes everything strictly below `dir` ("" = the root: everything).
void erase_below(std::map<std::string, TarEntry>& fs, const std::string& dir) {
  if (dir.empty()) {
    fs.clear();
    return;
  }
  std::string prefix = dir + "/";
  auto it = fs.lower_bound(prefix);
  while (it != fs.end() && it->first.starts_with(prefix)) it = fs.erase(it);
}

}  // namespace

Result<std::vector<TarEntry>> list_layer(const Layer& layer) {
  auto in = DE_TRY_CTX(layer.open_tar(), "opening " + layer.describe());
  TarReader reader(*in);
  std::vector<TarEntry> entries;
  while (true) {
    auto entry = DE_TRY_CTX(reader.next(), "reading " + layer.describe());
    if (!entry) return entries;
    entries.push_back(std::move(*entry));
  }
}

Result<std::vector<TarEntry>> merged_filesystem(const std::vector<LayerPtr>& layers) {
  std::map<std::string, TarEntry> fs;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::vector<TarEntry> entries =
        DE_TRY_CTX(list_layer(*layers[i]), fmt::format("layer {} of {}", i, layers.size()));
    // Whiteouts first: they act on lower layers only, never on entries of this layer.
    for (const TarEntry& e : entries) {
      std::string_view base = basename_of(e.path);
      if (!base.starts_with(kWhiteoutPrefix)) continue;
      std::string dir(dirname_of(e.path));
      if (base == kOpaqueWhiteout) {
        erase_below(fs, dir);
      } else if (base.starts_with(".wh..wh.")) {
        // Other AUFS metadata (".wh..wh.plnk", ".wh..wh.aufs"): not a whiteout of a name.
      } else {
        std::string_view name = base.substr(kWhiteoutPrefix.size());
        if (name.empty() || name == "." || name == "..") continue;
        std::string target = dir.empty() ? std::string(name) : dir + "/" + std::string(name);
        fs.erase(target);
        erase_below(fs, target);
      }
    }
    for (TarEntry& e : entries) {
      if (e.path.empty() || basename_of(e.path).starts_with(kWhiteoutPrefix)) continue;
      // A non-directory cannot have children: an ancestor that is one is replaced (the layer
      // implies a directory there), and a non-directory replaces a directory's subtree.
      for (std::string_view a = dirname_of(e.path); !a.empty(); a = dirname_of(a)) {
        auto it = fs.find(std::string(a));
        if (it != fs.end() && it->second.type != EntryType::Directory) fs.erase(it);
      }
      if (e.type != EntryType::Directory) erase_below(fs, e.path);
      std::string key = e.path;
      fs.insert_or_assign(std::move(key), std::move(e));
    }
  }
  std::vector<TarEntry> out;
  out.reserve(fs.size());
  for (auto& [path, entry] : fs) out.push_back(std::move(entry));
  return out;
}

std::string escape_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += ch;
    }
  }
  return out;
}

std::string format_long(const TarEntry& e) {
  std::string mode(10, '-');
  switch (e.type) {
    case EntryType::File:
      mode[0] = '-';
      break;
    case EntryType::Directory:
      mode[0] = 'd';
      break;
    case EntryType::Symlink:
      mode[0] = 'l';
      break;
    case EntryType::Hardlink:
      mode[0] = 'h';
      break;
    case EntryType::CharDevice:
      mode[0] = 'c';
      break;
    case EntryType::BlockDevice:
      mode[0] = 'b';
      break;
    case EntryType::Fifo:
      mode[0] = 'p';
      break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (e.mode & (0400u >> i)) mode[1 + i] = rwx[i];
  auto special = [&](std::uint32_t bit, size_t pos, char set) {
    if (e.mode & bit) mode[pos] = mode[pos] == '-' ? static_cast<char>(set - 'a' + 'A') : set;
  };
  special(04000, 3, 's');
  special(02000, 6, 's');
  special(01000, 9, 't');

  std::string owner = (e.uname.empty() ? std::to_string(e.uid) : e.uname) + "/" +
                      (e.gname.empty() ? std::to_string(e.gid) : e.gname);
  std::string size = (e.type == EntryType::CharDevice || e.type == EntryType::BlockDevice)
                         ? fmt::format("{},{}", e.dev_major, e.dev_minor)
                         : std::to_string(e.size);
  // GNU tar aligns owner and size in a 19-column field, with at least one space between them.
  size_t used = owner.size() + size.size();
  std::string gap(used < 18 ? 19 - used : 1, ' ');

  std::time_t t = static_cast<std::time_t>(e.mtime);
  std::tm tm{};
  std::string date;
  if (::gmtime_r(&t, &tm))
    date = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min);
  else
    date = std::to_string(e.mtime);

  std::string path = escape_path(e.path);
  if (e.type == EntryType::Directory) path = path.empty() ? "./" : path + "/";
  std::string line = fmt::format("{} {}{}{} {} {}", mode, owner, gap, size, date, path);
  if (e.type == EntryType::Symlink) line += " -> " + escape_path(e.link_target);
  if (e.type == EntryType::Hardlink) line += " link to " + escape_path(e.link_target);
  return line;
}

}  // namespace de::oci
