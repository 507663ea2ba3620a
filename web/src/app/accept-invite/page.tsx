"use client";
import { AuthFrame } from "@/components/auth-frame";
import { ChoosePassword } from "@/components/auth/choose-password";

export default function AcceptInvitePage() {
  return (
    <AuthFrame title="Accept your invitation" subtitle="Choose a password to finish setting up your Swiftacare account.">
      <ChoosePassword kind="invite" />
    </AuthFrame>
  );
}
