// Frames `<server>/widget/` without the SDK, as a foreign page could (e2e/widget-security.test.js).
document.getElementById('w').src = new URLSearchParams(location.search).get('server') + '/widget/';
