<?php
// Local test users. Each has an email (also the NameID) and groups, which Swiftacare maps to roles.
$config = [
    'admin' => ['core:AdminPassword'],
    'users' => [
        'exampleauth:UserPass',
        'alice:alice-pass' => ['uid' => ['alice'], 'email' => ['alice@clinic.example'], 'groups' => ['therapists']],
        'bob:bob-pass' => ['uid' => ['bob'], 'email' => ['bob@clinic.example'], 'groups' => ['front-desk']],
        'carol:carol-pass' => ['uid' => ['carol'], 'email' => ['carol@clinic.example'], 'groups' => []],
    ],
];
