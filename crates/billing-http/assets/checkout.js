// The last page of a booking page's checkout. Framed, it tells the parent page how the
// checkout ended, addressed to the business's origin only (no other page can read it); on its
// own, it goes back to the business's page. Either way the result is a hint: the business
// reads the booking through the API to know how it stands.
(function () {
  "use strict";
  var done = document.getElementById("checkout-done");
  if (!done) {
    return;
  }
  var data = done.dataset;
  if (window.parent !== window) {
    window.parent.postMessage(
      {
        type: "billing.checkout",
        checkout: data.checkout,
        booking: data.booking,
        result: data.result
      },
      data.origin
    );
  } else {
    window.location.replace(data.returnUrl);
  }
})();
