// Marks the page as scripted, as the NHS.UK page template does inline; kept in a file so that the
// Content-Security-Policy can forbid inline scripts. Then starts the design system's components.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
