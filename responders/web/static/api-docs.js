// Starts the vendored Swagger UI on the API's OpenAPI document (a file, since the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
});
