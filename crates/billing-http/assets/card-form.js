// The Stripe mode of the hosted pages. Configuration comes from data- attributes, since the
// pages' Content-Security-Policy forbids inline scripts.
//
// On a card form (#card-form) the card is typed into Stripe's own field (an iframe), so its
// number never reaches this service: the browser makes a PaymentMethod and the form posts only
// its id. The server then pays or saves the card with the customer present (on-session).
//
// When the customer's bank asks them to authenticate (3-D Secure), the server answers a page
// (#authentication) holding the client secret: Stripe.js shows the bank's challenge there
// (handleNextAction), then the browser goes to the return route, which reads the outcome from
// the gateway. The secret is never put into a URL or logged.
(function () {
  'use strict';
  if (typeof window.Stripe !== 'function') {
    return;
  }

  function stripeFor(element) {
    var key = element.getAttribute('data-publishable-key');
    var account = element.getAttribute('data-stripe-account');
    if (!key) {
      return null;
    }
    return account ? window.Stripe(key, { stripeAccount: account }) : window.Stripe(key);
  }

  var authentication = document.getElementById('authentication');
  if (authentication) {
    authenticate(authentication);
    return;
  }
  var form = document.getElementById('card-form');
  if (form) {
    cardForm(form);
  }

  function authenticate(section) {
    var secret = section.getAttribute('data-client-secret');
    var back = section.getAttribute('data-return-url');
    var stripe = stripeFor(section);
    if (!stripe || !secret || !back) {
      return;
    }
    stripe.handleNextAction({ clientSecret: secret }).then(function (result) {
      // Whatever the bank answered (approved, refused, or the window closed), the return route
      // reads it from the gateway and shows the outcome. A card set-up's return names its
      // SetupIntent, as Stripe's own redirect would.
      var target = back;
      var intent = result && (result.setupIntent || (result.error && result.error.setup_intent));
      if (intent && intent.id && back.indexOf('/cards/') === 0) {
        target = back.split('?')[0] + '?setup_intent=' + encodeURIComponent(intent.id);
      }
      window.location.replace(target);
    });
  }

  function cardForm(form) {
    var errorBox = document.getElementById('card-error');
    var method = form.querySelector('input[name="payment_method"]');
    var submit = form.querySelector('button[type="submit"]');
    var stripe = stripeFor(form);
    if (!stripe || !errorBox || !method || !submit) {
      return;
    }
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

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (submit.disabled) {
        return;
      }
      submit.disabled = true;
      stripe.createPaymentMethod({ type: 'card', card: card }).then(function (result) {
        if (result.error) {
          showError(result.error.message);
        } else {
          method.value = result.paymentMethod.id;
          // form.submit() fires no submit event, so this handler does not run again.
          form.submit();
        }
      });
    });
  }
})();
