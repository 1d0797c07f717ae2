// Wheels made by the tests: a small zip writer (stored members, the unix mode in the central
// directory's external attributes, exactly the names given — hostile ones too) and a wheel
// builder that writes the .dist-info files and a RECORD that matches, unless told otherwise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/subprocess.hpp"
#include "pypi/record.hpp"

namespace de::pypi::test {

struct ZipMember {
  std::string name;
  std::string data;
  std::uint32_t mode = 0100644;  // st_mode: type and permission bits
};

inline std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffffu;
  for (char ch : data) {
    crc ^= static_cast<std::uint8_t>(ch);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}
inline void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

// A zip file (stored members, no data descriptors) made by "unix" (version made by 3.20).
inline std::string make_zip(const std::vector<ZipMember>& members) {
  std::string out, central;
  for (const auto& m : members) {
    auto offset = static_cast<std::uint32_t>(out.size());
    std::uint32_t crc = crc32(m.data);
    auto size = static_cast<std::uint32_t>(m.data.size());
    auto name_len = static_cast<std::uint32_t>(m.name.size());
    put32(out, 0x04034b50);
    put16(out, 20);  // version needed
    put16(out, 0);   // flags
    put16(out, 0);   // stored
    put16(out, 0);   // time
    put16(out, 0x21);  // date (1980-01-01)
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, name_len);
    put16(out, 0);
    out += m.name;
    out += m.data;
    put32(central, 0x02014b50);
    put16(central, (3u << 8) | 20u);  // made by unix
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, name_len);
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, m.mode << 16);
    put32(central, offset);
    central += m.name;
  }
  auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(members.size()));
  put16(out, static_cast<std::uint32_t>(members.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// A wheel: `files` (RECORDed), the .dist-info files (METADATA, WHEEL, entry_points.txt when
// given, RECORD), then `unrecorded` (not in RECORD).
struct TestWheel {
  std::string name = "demo";
  std::string version = "1.0";
  std::vector<ZipMember> files;
  std::string wheel_text =
      "Wheel-Version: 1.0\nGenerator: docker-envs tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
  std::string entry_points;
  std::vector<ZipMember> unrecorded;
  // Applied to RECORD's text before it is added (to make it lie).
  std::function<void(std::string&)> edit_record;

  std::string dist_info() const { return name + "-" + version + ".dist-info"; }
  std::string file_name() const { return name + "-" + version + "-py3-none-any.whl"; }

  std::vector<ZipMember> members() const {
    std::vector<ZipMember> all = files;
    all.push_back({dist_info() + "/METADATA",
                   "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n\nA test.\n"});
    all.push_back({dist_info() + "/WHEEL", wheel_text});
    if (!entry_points.empty()) all.push_back({dist_info() + "/entry_points.txt", entry_points});
    std::string record;
    for (const auto& m : all)
      record += m.name + "," + detail::record_hash(Digest::of(m.data)) + "," +
                std::to_string(m.data.size()) + "\n";
    record += dist_info() + "/RECORD,,\n";
    if (edit_record) edit_record(record);
    all.push_back({dist_info() + "/RECORD", record});
    for (const auto& m : unrecorded) all.push_back(m);
    return all;
  }

  std::filesystem::path write(const std::filesystem::path& dir) const {
    auto path = dir / file_name();
    auto st = write_file_atomic(path, make_zip(members()));
    if (!st) throw std::runtime_error(st.error().to_string());
    return path;
  }
};

// The host's Python ("python3"): its X.Y version, or "" when there is none.
inline std::string host_python_version() {
  auto r = run_process("python3", {"python3", "-c",
                                   "import sys; print('%d.%d' % sys.version_info[:2])"});
  if (!r || !r->succeeded()) return "";
  std::string v = r->out;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

}  // namespace de::pypi::test
