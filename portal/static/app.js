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
