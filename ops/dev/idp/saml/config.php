<?php
// SimpleSAMLphp configuration for Swiftacare's local SAML IdP (tests and docs/SSO.md).
// Starts from Debian's defaults and changes only what a loopback IdP needs. The run
// directory (SWIFTACARE_IDP_DIR) holds the key pair, sessions, logs and the SP list.
require '/etc/simplesamlphp/config.php';
$run = getenv('SWIFTACARE_IDP_DIR');
$config['baseurlpath'] = getenv('SWIFTACARE_IDP_BASEURL') . '/';
$config['certdir'] = $run . '/cert/';
$config['loggingdir'] = $run . '/log/';
$config['logging.handler'] = 'file';
$config['logging.level'] = SimpleSAML\Logger::WARNING;
$config['tempdir'] = $run . '/tmp';
$config['metadatadir'] = __DIR__ . '/metadata/';
$config['metadata.sources'] = [['type' => 'flatfile', 'directory' => __DIR__ . '/metadata/']];
$config['secretsalt'] = 'swiftacare-local-idp-salt-not-secret';
$config['auth.adminpassword'] = 'swiftacare-local-admin';
$config['enable.saml20-idp'] = true;
$config['store.type'] = 'phpsession';
$config['session.phpsession.savepath'] = $run . '/tmp';
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = null;
$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true];
$config['language.available'] = ['en'];
$config['timezone'] = 'UTC';
