// registry::report_blobs(): blob progress as progress events.
#include "docker_envs/registry/client.hpp"

namespace de::registry {

ProgressFn report_blobs(progress::Reporter* reporter, std::string stage, std::string done) {
  if (!reporter) return {};
  return [reporter, stage = std::move(stage), done = std::move(done)](const BlobProgress& p) {
    using P = BlobProgress::Phase;
    using progress::Kind;
    progress::Event e{.stage = stage, .task = p.id, .bytes = p.done, .total = p.total};
    switch (p.phase) {
      case P::Checking: e.kind = Kind::TaskStart; break;
      case P::Transferring: e.kind = Kind::TaskProgress; break;
      case P::Done: e.kind = Kind::TaskEnd, e.detail = done; break;
      case P::Skipped: e.kind = Kind::TaskEnd, e.detail = "already there"; break;
      case P::Mounted: e.kind = Kind::TaskEnd, e.detail = "mounted"; break;
      case P::Cached: e.kind = Kind::TaskEnd, e.detail = "cached"; break;
    }
    reporter->report(e);
  };
}

}  // namespace de::registry
