// The annotator page and its assets (services/feedback/web/), compiled into the binary by
// cmake/EmbedFiles.cmake.
#ifndef REIN_SERVICES_FEEDBACK_WEB_ASSETS_H_
#define REIN_SERVICES_FEEDBACK_WEB_ASSETS_H_

#include <string_view>
#include <vector>

namespace rein::feedback {

struct WebAsset {
  std::string_view path;  // file name under web/, e.g. "app.js"
  std::string_view content;
  std::string_view content_type;
};

const std::vector<WebAsset>& WebAssets();

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_WEB_ASSETS_H_
