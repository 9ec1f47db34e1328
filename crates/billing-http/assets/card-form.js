// The Stripe mode of the hosted card form. The card is typed into Stripe's own field (an
// iframe), so its number never reaches this service: for a payment the browser makes a
// PaymentMethod, for a card request it confirms the page's SetupIntent; then the form posts only
// the resulting payment method id. Configuration comes from the form's data- attributes, since
// the pages' Content-Security-Policy forbids inline scripts.
(function () {
  'use strict';
  var form = document.getElementById('card-form');
  if (!form || typeof window.Stripe !== 'function') {
    return;
  }
  var key = form.getAttribute('data-publishable-key');
  var account = form.getAttribute('data-stripe-account');
  var secret = form.getAttribute('data-client-secret');
  var errorBox = document.getElementById('card-error');
  var method = form.querySelector('input[name="payment_method"]');
  var submit = form.querySelector('button[type="submit"]');
  if (!key || !errorBox || !method || !submit) {
    return;
  }
  var stripe = account ? window.Stripe(key, { stripeAccount: account }) : window.Stripe(key);
  var card = stripe.elements().create('card', { hidePostalCode: true });
  card.mount('#card-element');

  function showError(message) {
    errorBox.textContent = message || 'Your card could not be read. Please try again.';
    errorBox.hidden = false;
    submit.disabled = false;
  }

  card.on('change', function (event) {
    if (event.error) {
      showError(event.error.message);
    } else {
      errorBox.textContent = '';
      errorBox.hidden = true;
    }
  });

  function send(paymentMethod) {
    method.value = paymentMethod;
    // form.submit() fires no submit event, so this handler does not run again.
    form.submit();
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (submit.disabled) {
      return;
    }
    submit.disabled = true;
    if (secret) {
      stripe.confirmCardSetup(secret, { payment_method: { card: card } }).then(function (result) {
        if (result.error) {
          showError(result.error.message);
        } else {
          send(result.setupIntent.payment_method);
        }
      });
    } else {
      stripe.createPaymentMethod({ type: 'card', card: card }).then(function (result) {
        if (result.error) {
          showError(result.error.message);
        } else {
          send(result.paymentMethod.id);
        }
      });
    }
  });
})();
