DROP TABLE referral_events, referrals;
