/** IDmeta's wire answers, as the endpoint's page shows them, for tests that need one to pass. */

/** A verified facematch check: every field matches, face 99.8, LOW risk. */
export const VERIFIED_ANSWER = {
  status: 'VERIFIED',
  message: 'OK',
  result: {
    success: true,
    message: 'Berhasil',
    data: {
      nik: true,
      name: true,
      date_of_birth: true,
      selfie_image_percentage: '99.8',
      place_of_birth: true,
      uuid: 'f26c9465-9e81-4f58-980f-a94d42aa519d',
      reason_code: '0',
      error_message: null,
    },
  },
  risk_rating: 'LOW',
  api_request_status: 1,
};
