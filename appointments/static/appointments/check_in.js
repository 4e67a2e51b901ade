/* Check-in by QR code (admin/appointments/check_in.html): where the browser has the
   BarcodeDetector API and a camera, "Scan with the camera" reads the QR code on the applicant's
   phone and finds the booking, as a USB scanner does by typing the reference and Enter. */
(function () {
  "use strict";
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("camera-scan");
    var video = document.getElementById("camera-view");
    var status = document.getElementById("camera-status");
    var form = document.getElementById("scan-form");
    var input = document.getElementById("scan-reference");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
        .then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          return video.play().then(function () { return stream; });
        })
        .then(function (stream) {
          function look() {
            detector.detect(video).then(function (codes) {
              if (codes.length) {
                stream.getTracks().forEach(function (track) { track.stop(); });
                input.value = codes[0].rawValue;
                form.submit();
              } else {
                window.requestAnimationFrame(look);
              }
            }, function () { window.requestAnimationFrame(look); });
          }
          look();
        })
        .catch(function (error) {
          status.textContent = button.dataset.noCamera + " (" + error.name + ")";
        });
    });
  });
})();
