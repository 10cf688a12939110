// A QR code drawn as SVG elements (never as markup from a string): the payer's phone scans it.
// The code is uqr's (the vendor bundle); FORMAT.md §20.4 asks for error correction M or better,
// raised where the same version allows it, and a quiet zone of four modules.
import { qrEncode } from "../vendor/incoop-vendor.js";

const SVG = "http://www.w3.org/2000/svg";

/** An <svg role="img"> of `text` as a QR code, named for screen readers by `label`. */
export function qrCode(text, label) {
  const qr = qrEncode(text, { ecc: "M", boostEcc: true, border: 4 });
  const path = [];
  qr.data.forEach((row, y) => row.forEach((dark, x) => { if (dark) path.push(`M${x} ${y}h1v1h-1z`); }));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${qr.size} ${qr.size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "qr");
  svg.setAttribute("shape-rendering", "crispEdges");
  const paper = document.createElementNS(SVG, "rect");
  paper.setAttribute("width", String(qr.size));
  paper.setAttribute("height", String(qr.size));
  paper.setAttribute("fill", "#fff");
  const ink = document.createElementNS(SVG, "path");
  ink.setAttribute("d", path.join(""));
  ink.setAttribute("fill", "#000");
  svg.append(paper, ink);
  return svg;
}
