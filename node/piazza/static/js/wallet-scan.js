// Reading a QR code with the camera: getUserMedia's stream in a <video>, frames drawn on a canvas and
// handed to jsQR (the vendor bundle) until one holds text. When there is no camera, or the person (or
// the browser) refuses it, the message says so and the page's text field stays the way in.
import { h } from "./dom.js";
import { translator } from "./i18n.js";
import { jsQR } from "../vendor/incoop-vendor.js";

const FRAME_MS = 150;
const MAX_SIDE = 640;

const t = translator({
  it: { video: "Inquadratura della fotocamera", aim: "Inquadra il codice QR della richiesta di pagamento.", stop: "Chiudi la fotocamera",
        unsupported: "Questo browser non può usare la fotocamera su questa pagina (serve una connessione sicura). Incolla la richiesta qui sopra.",
        denied: "L'accesso alla fotocamera è stato negato. Puoi permetterlo nelle impostazioni del browser, oppure incollare la richiesta qui sopra.",
        missing: "Non è stata trovata nessuna fotocamera. Incolla la richiesta qui sopra.",
        busy: "La fotocamera è usata da un'altra app. Chiudila e riprova, oppure incolla la richiesta qui sopra.",
        failed: "La fotocamera non si è avviata ({name}). Incolla la richiesta qui sopra." },
  en: { video: "Camera view", aim: "Point the camera at the payment request's QR code.", stop: "Close the camera",
        unsupported: "This browser cannot use the camera on this page (it needs a secure connection). Paste the request above.",
        denied: "Camera access was refused. You can allow it in the browser's settings, or paste the request above.",
        missing: "No camera was found. Paste the request above.",
        busy: "Another app is using the camera. Close it and try again, or paste the request above.",
        failed: "The camera did not start ({name}). Paste the request above." },
});

function problem(err) {
  switch (err && err.name) {
    case "NotAllowedError": case "SecurityError": return t("denied");
    case "NotFoundError": case "OverconstrainedError": return t("missing");
    case "NotReadableError": case "AbortError": return t("busy");
    default: return t("failed", { name: (err && err.name) || "?" });
  }
}

/**
 * A camera panel: `start()` asks for the camera and calls `onText(text)` with the first QR code read
 * (and stops); `stop()` releases the camera (call it when the page goes). `onProblem(message)` says why
 * it cannot scan.
 */
export function scanner({ onText, onProblem }) {
  const video = h("video", { class: "scan-video", muted: true, playsinline: true, "aria-label": t("video") });
  const canvas = document.createElement("canvas");
  let stream = null;
  let timer = null;
  const panel = h("div", { class: "scan card", hidden: true },
    h("p", {}, t("aim")), video,
    h("button", { type: "button", class: "secondary", onclick: () => stop() }, t("stop")));

  function stop() {
    clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
  }

  function frame() {
    if (!stream) return;
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
      const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      if (code && code.data) {
        stop();
        onText(code.data);
        return;
      }
    }
    timer = setTimeout(frame, FRAME_MS);
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return onProblem(t("unsupported"));
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (err) {
      stream = null;
      return onProblem(problem(err));
    }
    panel.hidden = false;
    video.muted = true;
    video.srcObject = stream;
    try {
      await video.play();
    } catch (err) {
      stop();
      return onProblem(problem(err));
    }
    frame();
  }

  return { el: panel, start, stop };
}
