<?php
// Service providers this IdP trusts: one JSON file per Swiftacare connection in
// $SWIFTACARE_IDP_DIR/sp/ ({"entity_id": "...", "acs_url": "..."}), written by the tests or by
// hand (docs/SSO.md), so a new connection needs no restart.
foreach (glob(getenv('SWIFTACARE_IDP_DIR') . '/sp/*.json') ?: [] as $file) {
    $sp = json_decode(file_get_contents($file), true);
    if (!is_array($sp) || !isset($sp['entity_id'], $sp['acs_url'])) {
        continue;
    }
    $metadata[$sp['entity_id']] = [
        'AssertionConsumerService' => [[
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => $sp['acs_url'],
        ]],
        'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
        'simplesaml.nameidattribute' => 'email',
    ];
}
