// Small glue for htmx: tell the user when the network, not the server, failed.
document.addEventListener("htmx:sendError", function () {
  var box = document.getElementById("messages");
  if (!box) return;
  box.innerHTML = "";
  var p = document.createElement("p");
  p.className = "flash error";
  p.setAttribute("role", "alert");
  p.textContent = "Koneksi terputus. Isian Anda belum terkirim; periksa sinyal lalu coba lagi.";
  box.appendChild(p);
});

// "Salin alamat": copy the named input's value; select it when the clipboard is unavailable.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy"));
  if (!input) return;
  input.select();
  var done = function () { button.textContent = button.getAttribute("data-copied") || "Tersalin"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// Subscription form: show only the fields the chosen "Isi kalender" needs (all show without JS).
function syncScopes(form) {
  var checked = form.querySelector("input[name=scope]:checked");
  var scope = checked ? checked.value : "";
  form.querySelectorAll("[data-scopes]").forEach(function (el) {
    el.hidden = el.getAttribute("data-scopes").split(" ").indexOf(scope) < 0;
  });
}
document.addEventListener("change", function (event) {
  if (event.target.name === "scope" && event.target.form) syncScopes(event.target.form);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.subscribe").forEach(syncScopes);
});

// Forms with data-confirm ask first (irreversible actions); without JavaScript they submit as is.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

// Print view: "Cetak" opens the browser's print dialog.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
