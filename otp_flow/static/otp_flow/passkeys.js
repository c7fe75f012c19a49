// Passkeys: the "Use a passkey" button of the code page, the "Add a passkey"
// button of the passkeys page and the "Sign in with a passkey" button.
//
// Each button is hidden until this script (and WebAuthn) is there. A click
// asks the server for options (POST to data-options-url, CSRF header), runs
// the browser's WebAuthn ceremony, puts the answer as JSON in the form's
// hidden "credential" field and submits the form, so the server answers as
// it does to a code: a redirect, or the page with an error. A file, not an
// inline script, so a strict Content-Security-Policy (script-src 'self')
// lets it run.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return { publicKey: options };
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return { publicKey: options };
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) {
        out.response.userHandle = toText(response.userHandle);
      }
    }
    return out;
  }

  function setUp(button) {
    var form = button.form;
    var status = document.getElementById(button.dataset.status);
    var creating = button.dataset.ceremony === "create";
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (creating && form.reportValidity && !form.reportValidity()) {
        return;
      }
      button.disabled = true;
      var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(button.dataset.optionsUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(button.dataset.failed);
          }
          return response.json();
        })
        .then(function (json) {
          return creating
            ? navigator.credentials.create(creationOptions(json))
            : navigator.credentials.get(requestOptions(json));
        })
        .then(function (credential) {
          form.querySelector("input[name=credential]").value = JSON.stringify(
            credentialJSON(credential)
          );
          form.action = button.dataset.submitUrl;
          form.submit();
        })
        .catch(function () {
          button.disabled = false;
          if (status) {
            status.textContent = button.dataset.failed;
            status.hidden = false;
          }
        });
    });
  }

  document.querySelectorAll("button[data-passkey]").forEach(setUp);
})();
